package config

// The configuration reference and the sample file are generated from Config.
//go:generate go run ../internal/gen/configdoc config.go ../docs/configuration.md ../packaging/onecse.yaml
