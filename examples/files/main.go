// Command files serves a directory with http.FileServer and answers /config from a
// configuration file. Both are files of the image: mote.yaml copies static/ to /srv/www and
// config.json to /etc/files/config.json, passes that path with -config, and makes /srv/www
// the working directory, which the configuration's root "." names.
//
//	mote run -p 8080:8080 ./examples/files
//	curl http://127.0.0.1:8080/ http://127.0.0.1:8080/config
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
)

// config is the file -config names.
type config struct {
	Addr     string `json:"addr"`     // address to listen on
	Root     string `json:"root"`     // directory to serve, relative to the working directory
	Greeting string `json:"greeting"` // what /config answers
}

func main() {
	path := flag.String("config", "config.json", "the configuration file")
	flag.Parse()
	data, err := os.ReadFile(*path)
	if err != nil {
		log.Fatalf("reading the configuration: %v", err)
	}
	var cfg config
	if err := json.Unmarshal(data, &cfg); err != nil {
		log.Fatalf("%s: %v", *path, err)
	}
	wd, _ := os.Getwd()
	http.Handle("/", http.FileServer(http.Dir(cfg.Root)))
	http.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s (config %s, working directory %s)\n", cfg.Greeting, *path, wd)
	})
	log.Printf("serving %s in %s on %s", cfg.Root, wd, cfg.Addr)
	log.Fatal(http.ListenAndServe(cfg.Addr, nil))
}
