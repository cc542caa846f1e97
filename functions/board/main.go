// Command board is the Lambda function of the release board's CloudWatch
// dashboard widget: it answers the dashboard's custom-widget invocations
// with the board as HTML. It only wires; the work is in pkg/handler and
// pkg/board.
package main

import "github.com/ecrdeploy/ecrdeploy/pkg/handler"

func main() { handler.BoardMain() }
