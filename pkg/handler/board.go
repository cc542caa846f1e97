package handler

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ecrdeploy/ecrdeploy/pkg/board"
	"github.com/ecrdeploy/ecrdeploy/pkg/deploy"
	"github.com/ecrdeploy/ecrdeploy/pkg/state"
)

// BoardMain is the main function of the board function, the CloudWatch
// dashboard's custom widget: it builds the handler once, in the init phase,
// as Main does, and serves the board's Widget with the handler's
// ReadOnlyBoardSource. An init error is logged and exits 1.
func BoardMain() {
	log := lambdacontext.NewLogger()
	h, err := New(context.Background(), os.Getenv, Options{Log: log})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Widget().Handle)
}

// Widget is the board function's custom widget: the board read by
// ReadOnlyBoardSource.
func (h *Handler) Widget() *board.Widget {
	return &board.Widget{Source: h.ReadOnlyBoardSource(), Now: time.Now, Log: h.Log}
}

// BoardSource is where the promoter's board request and `ecrdeploy board`
// read the fleet from: every configured repository and environment, their
// records and what ECS runs, in batched reads (deploy.Deployer.Board),
// with the roles of environments in other accounts assumed as the promoter
// assumes them.
func (h *Handler) BoardSource() board.Source {
	return h.Deployer
}

// ReadOnlyBoardSource is where the board function reads the fleet from: as
// BoardSource, but with what its read-only policy allows. It assumes no
// role (an environment in another account shows what its record says),
// and it imports no record that an earlier release kept in SSM Parameter
// Store (an import writes the state table; the deployer and the promoter
// import a record the first time they read it).
func (h *Handler) ReadOnlyBoardSource() board.Source {
	d := h.Deployer
	states := d.State
	if s, ok := states.(*state.Store); ok && s.Legacy != nil {
		states = s.WithoutLegacy()
	}
	reader := &deploy.Deployer{Config: d.Config, State: states, Targets: d.Targets, Region: d.Region, Log: d.Log, Now: d.Now}
	return reader.BoardSource(deploy.BoardOptions{OwnCredentials: true})
}
