// Command promoter is the Lambda function for manual requests: deploy,
// promote, rollback, plan and status. It only wires; the work is in
// pkg/handler and pkg/deploy.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ecrdeploy/ecrdeploy/pkg/handler"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := handler.NewPromoter(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	h.Deploy.Metrics = os.Stdout // CloudWatch Embedded Metric Format lines
	lambda.Start(h.Handle)
}
