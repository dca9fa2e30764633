//go:build tools

// Package tools pins Regal: `go install regal@version` asks the proxy for the
// module's version list to check deprecation, which the proxy here refuses,
// so Regal is built from this wrapper module instead.
package tools

import _ "github.com/open-policy-agent/regal"
