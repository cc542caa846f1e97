// Command deployer is the Lambda function for events: ECR image pushes, ECS
// deployment state changes and the reconcile schedule. It only wires; the
// work is in pkg/handler and pkg/deploy.
package main

import "github.com/ecrdeploy/ecrdeploy/pkg/handler"

func main() { handler.Main(func(h *handler.Handler) handler.Function { return h.Event }) }
