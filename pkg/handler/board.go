package handler

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
)

// BoardMain is the main function of the board function, the CloudWatch
// dashboard's custom widget: it builds the handler once, in the init phase,
// as Main does, and serves the board's Widget with the handler's
// BoardSource. An init error is logged and exits 1.
func BoardMain() {
	log := lambdacontext.NewLogger()
	h, err := New(context.Background(), os.Getenv, Options{Log: log})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Widget().Handle)
}

// Widget is the board's custom widget, reading the fleet from BoardSource.
func (h *Handler) Widget() *board.Widget {
	return &board.Widget{Source: h.BoardSource(), Now: time.Now, Log: h.Log}
}

// BoardSource is where the board function and `ecrdeploy board` read the
// fleet from: every configured repository and environment, their records
// and what ECS runs, in batched reads.
func (h *Handler) BoardSource() board.Source {
	return unwiredSource{}
}

// ErrBoardUnwired is the answer of the board's source until the batched read
// of the fleet is wired in BoardSource.
var ErrBoardUnwired = errors.New("the board's source is not wired yet")

type unwiredSource struct{}

func (unwiredSource) Board(context.Context) (board.Board, error) {
	return board.Board{}, ErrBoardUnwired
}
