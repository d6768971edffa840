package pulsarfunctions

import (
	"github.com/weftio/weft/internal/cli"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/pfdeploy"
)

// The deploy target: deploy pulsar-functions, undeploy pulsar-functions.
func init() { cli.RegisterDeployer(config.RuntimePulsarFunctions, pfdeploy.Target{}) }
