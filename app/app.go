// Package app is the entry point of a program of one's own: its main
// registers services and workflows and calls Main, which runs them with the
// WEFT_* configuration.
//
//	func main() {
//		reg := weft.NewRegistry()
//		// weft.RegisterService(reg, ...), weft.RegisterWorkflow(reg, ...)
//		app.Main(reg)
//	}
//
// Started without a command, the binary runs the roles named by WEFT_ROLES
// (executor, state-engine, tag-engine, event-listener; default all) on the
// runtime named by WEFT_RUNTIME (worker, pulsar-functions, knative, lambda),
// detected from the platform where that is unambiguous (a Pulsar Function
// is started with -instance-conf) and the worker otherwise. The same
// binary has the weft commands on its own code: dev (the embedded runtime
// with an HTTP API), worker, replay (check recorded histories against this
// code), config validate and config env, and the commands that drive a dev
// server. Unknown WEFT_* variables, roles and runtimes are start-up errors
// naming the variable.
//
// Drivers and runtimes are linked only when imported, as database/sql
// drivers are: a binary that uses PostgreSQL imports
//
//	_ "github.com/weftio/weft/storage/postgres"
//	_ "github.com/weftio/weft/transport/pgqueue"
//
// and links neither Pulsar nor Redis. The in-memory storage and transport
// and the worker runtime are always there; storage/redis, storage/mysql and
// transport/pulsar are the other drivers, app/pulsarfunctions the Pulsar
// Functions runtime (it brings transport/pulsar).
package app

import (
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/cli"
	"github.com/weftio/weft/internal/config"
)

// Main runs the command line of os.Args on reg's code (nil: none, for a
// binary of roles that need no code) and exits with its status. SIGTERM
// and interrupts stop it gracefully.
func Main(reg *weft.Registry, opts ...Option) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, reg, os.Args[1:], os.Stdout, os.Stderr, opts...)
	stop()
	os.Exit(code)
}

// Run is Main without the exit: it runs the command line args on reg's
// code until ctx ends and returns the exit status.
func Run(ctx context.Context, reg *weft.Registry, args []string, stdout, stderr io.Writer, opts ...Option) int {
	if reg == nil {
		reg = weft.NewRegistry()
	}
	p := cli.Program{Name: filepath.Base(os.Args[0]), RunByDefault: true,
		Registry: func(io.Writer) (*weft.Registry, error) { return reg, nil }}
	for _, o := range opts {
		o(&p)
	}
	return cli.Run(ctx, p, args, stdout, stderr)
}

// Option tunes Main.
type Option func(*cli.Program)

// Roles makes a role binary: it runs only the roles named (executor,
// state-engine, tag-engine, event-listener), which WEFT_ROLES then
// defaults to. An unknown name fails at start-up.
func Roles(roles ...string) Option {
	return func(p *cli.Program) {
		for _, r := range roles {
			p.Roles = append(p.Roles, config.Role(r))
		}
	}
}

// Name sets the program's name in its usage and messages (default: the
// binary's file name).
func Name(name string) Option { return func(p *cli.Program) { p.Name = name } }
