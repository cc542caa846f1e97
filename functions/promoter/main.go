// Command promoter is the Lambda function for manual requests: deploy,
// promote, rollback, plan and status. It only wires; the work is in
// pkg/handler and pkg/deploy.
package main

import "github.com/ecrdeploy/ecrdeploy/pkg/handler"

func main() { handler.Main(func(h *handler.Handler) handler.Function { return h.Request }) }
