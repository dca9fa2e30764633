//go:build tools

// Package tools pins OpenTofu: its go.mod replaces github.com/hashicorp/hcl/v2
// with OpenTofu's fork, and a replace only applies in the main module, so
// `go install github.com/opentofu/opentofu/cmd/tofu@version` refuses to build.
// This wrapper module repeats that replace.
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
