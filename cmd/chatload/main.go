// Command chatload measures the chat daemon under load, in one process on
// loopback: the real store, gateway, router, chat service and HTTP API in
// front of the dev fake upstream, with one SSE watcher per chat.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var c config
	flag.IntVar(&c.chats, "chats", 200, "concurrent chats")
	flag.IntVar(&c.turns, "turns", 3, "turns per chat")
	flag.IntVar(&c.words, "words", 8, "words per prompt (the fake echoes them, one delta each)")
	flag.DurationVar(&c.latency, "latency", 20*time.Millisecond, "fake upstream latency before each streamed delta")
	flag.IntVar(&c.workers, "workers", 0, "chat workers (0: one per chat)")
	flag.StringVar(&c.postgres, "postgres", "", "PostgreSQL server URL to run against instead of SQLite in a temp dir (a fresh database is created there and dropped afterwards)")
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.DurationVar(&c.watchPoll, "watch-poll", 0, "chat.Config.WatchPollInterval (0: its default; negative: off)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chatload:", err)
		os.Exit(1)
	}
}
