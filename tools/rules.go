//go:build ruleguard

// Package gorules holds the gocritic ruleguard rules the fleet's shared
// lint configuration (.golangci.yml) loads from tools/rules.go. It is
// never built: the ruleguard build tag keeps it out of every binary.
package gorules

import (
	logfatal "github.com/ennyjfrick/ruleguard-logfatal"
	"github.com/quasilyte/go-ruleguard/dsl"
)

func init() {
	// No log.Fatal or log.Panic: a connector reports failure through its
	// errors, and the process's exit is the SDK's to decide.
	dsl.ImportRules("logfatal", logfatal.Bundle)
}
