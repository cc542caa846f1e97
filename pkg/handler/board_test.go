package handler

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
)

// TestBoardWidget checks the board function's widget as BoardMain serves
// it: the documentation needs no source; the board, until the fleet's read
// is wired in BoardSource, is a clear error that the dashboard shows.
func TestBoardWidget(t *testing.T) {
	h := &Handler{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	w := h.Widget()
	if w.Now == nil || w.Source == nil {
		t.Fatalf("widget without a clock or a source: %+v", w)
	}
	docs, err := w.Handle(t.Context(), board.WidgetEvent{Describe: true})
	if err != nil || docs != board.WidgetDocs {
		t.Errorf("describe: %q, %v", docs, err)
	}
	if _, err := w.Handle(t.Context(), board.WidgetEvent{}); !errors.Is(err, ErrBoardUnwired) {
		t.Errorf("render: %v, want ErrBoardUnwired", err)
	}
}
