// Command configdoc generates the configuration reference
// (docs/configuration.md) and the sample configuration file
// (packaging/onecse.yaml) from config.Config: its fields' YAML keys and
// comments, the defaults and the flag descriptions. Run by go generate in
// package config:
//
//	go run ../internal/gen/configdoc config.go ../docs/configuration.md ../packaging/onecse.yaml
package main

import (
	"log"
	"os"
)

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: configdoc config.go configuration.md onecse.yaml")
	}
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	ks, err := keys(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[2], markdown(ks), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[3], sample(ks), 0o644); err != nil {
		log.Fatal(err)
	}
}
