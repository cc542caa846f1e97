package bench

import (
	"os"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.RunMain(m)) }
