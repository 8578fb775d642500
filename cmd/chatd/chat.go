package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) chatCmd() *cobra.Command {
	var (
		model, title string
		detach       bool
		reasoning    bool
	)
	cmd := &cobra.Command{
		Use:   "chat [PROMPT]",
		Short: "Start, continue and watch chats",
		Long: `Start a chat with PROMPT and stream the answer live. The chat runs on the
server: Ctrl-C stops watching, not the chat (chatd chat watch ID picks it
up again). The chat id goes to stderr, the answer to stdout.`,
		Example: `  chatd chat "Summarise RFC 9110 section 15 in five bullets"
  chatd chat send CHAT_ID "Now in French" --interrupt
  chatd chat watch CHAT_ID
  chatd chat ls --archived`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			prompt := strings.Join(args, " ")
			ch, err := api.CreateChat(cmd.Context(), client.CreateChatRequest{Message: prompt, Model: model, Title: title})
			if err != nil {
				return apiError("start chat", err)
			}
			if detach {
				if c.json {
					return printJSON(cmd.OutOrStdout(), ch)
				}
				fmt.Fprintln(cmd.OutOrStdout(), ch.Chat.ID)
				return nil
			}
			if !c.json {
				fmt.Fprintf(cmd.ErrOrStderr(), "chat %s\n", ch.Chat.ID)
			}
			return c.follow(cmd, api, ch.Chat, 0, reasoning)
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model config id (default: the server's default model)")
	f.StringVar(&title, "title", "", "chat title (default: generated from the prompt)")
	f.BoolVar(&detach, "detach", false, "print the chat id and return without waiting for the answer")
	f.BoolVar(&reasoning, "reasoning", false, "also show the model's reasoning (on stderr)")
	cmd.AddCommand(c.chatSendCmd(), c.chatWatchCmd(), c.chatLsCmd(), c.chatShowCmd(), c.chatInterruptCmd(), c.chatCompactCmd())
	return cmd
}

func (c *cli) chatSendCmd() *cobra.Command {
	var interrupt, detach, reasoning bool
	cmd := &cobra.Command{
		Use:   "send ID MESSAGE",
		Short: "Send a message to a chat and stream the answer",
		Long: `Send a message to a chat. If a turn is running the message is queued and
runs next, unless --interrupt stops the running turn (keeping its partial
answer) and runs this message at once.`,
		Args: cobra.MinimumNArgs(2),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			r := client.SendMessageRequest{Message: strings.Join(args[1:], " "), Mode: client.SendQueue}
			if interrupt {
				r.Mode = client.SendInterrupt
			}
			res, err := api.SendMessage(cmd.Context(), args[0], r)
			if err != nil {
				return apiError("send message", err)
			}
			if res.Queued != nil && (!interrupt || detach || c.json) {
				if c.json {
					return printJSON(cmd.OutOrStdout(), res)
				}
				if interrupt {
					fmt.Fprintf(cmd.OutOrStdout(), "Queued as %s at the head of the queue: the running turn is being interrupted; it runs next.\n", res.Queued.ID)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Queued as %s (position %d): it runs after the turn in progress and the messages queued before it.\n", res.Queued.ID, res.Queued.Position)
				return nil
			}
			if res.Queued != nil {
				// Interrupting: the running turn stops (its partial answer
				// is kept) and this message runs next; stream that turn.
				fmt.Fprintln(cmd.ErrOrStderr(), "Interrupting the running turn; your message runs next.")
				seq, err := lastSeq(cmd.Context(), api, args[0])
				if err != nil {
					return err
				}
				return c.follow(cmd, api, res.Chat, seq, reasoning)
			}
			if detach {
				if c.json {
					return printJSON(cmd.OutOrStdout(), res)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Sent message %s.\n", res.Message.ID)
				return nil
			}
			return c.follow(cmd, api, res.Chat, res.Message.Seq, reasoning)
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&interrupt, "interrupt", false, "interrupt the running turn instead of queueing")
	f.BoolVar(&detach, "detach", false, "return once sent, without waiting for the answer")
	f.BoolVar(&reasoning, "reasoning", false, "also show the model's reasoning (on stderr)")
	return cmd
}

func (c *cli) chatWatchCmd() *cobra.Command {
	var untilIdle, reasoning bool
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Show a chat's history, then follow it live",
		Long: `Show a chat's messages, then follow it live: answers as they stream,
status changes, retries and errors. Reconnects on its own if the
connection drops. Stop with Ctrl-C, or use --until-idle.`,
		Args: cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			r := c.newRenderer(cmd, reasoning)
			r.showUser = true
			err := api.WatchChat(cmd.Context(), args[0], "", func(ev wire.Event) error {
				if err := r.event(ev); err != nil {
					return err
				}
				if untilIdle && ev.Type == wire.EventChat && ev.Chat != nil && !ev.Chat.Busy() {
					return client.ErrStopWatching
				}
				return nil
			})
			if errors.Is(err, context.Canceled) && cmd.Context().Err() != nil {
				r.finish()
				return nil
			}
			if err != nil {
				r.finish()
				return apiError("watch chat", err)
			}
			if err := r.catchUp(cmd.Context(), api, args[0]); err != nil {
				return err
			}
			r.finish()
			return nil
		}),
	}
	cmd.Flags().BoolVar(&untilIdle, "until-idle", false, "return once the chat is not running a turn")
	cmd.Flags().BoolVar(&reasoning, "reasoning", false, "also show the model's reasoning (on stderr)")
	return cmd
}

func (c *cli) chatLsCmd() *cobra.Command {
	var archived bool
	var limit int
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List your chats",
		Args:    cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			chats, err := api.Chats(cmd.Context(), client.ChatsOptions{Archived: archived, Limit: limit})
			if err != nil {
				return apiError("list chats", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"chats": nonNil(chats)})
			}
			t := newTable(cmd.OutOrStdout(), "ID", "TITLE", "STATUS", "UPDATED")
			for _, ch := range chats {
				t.row(ch.ID, orDash(clip(ch.Title, 60)), ch.Status, fmtTime(ch.UpdatedAt))
			}
			return t.flush()
		}),
	}
	cmd.Flags().BoolVar(&archived, "archived", false, "list archived chats instead")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many (default 100)")
	return cmd
}

func (c *cli) chatShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a chat, its messages and its queue",
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			ctx := cmd.Context()
			ch, err := api.GetChat(ctx, args[0])
			if err != nil {
				return apiError("show chat", err)
			}
			var msgs []wire.Message
			for after := int64(0); ; {
				page, next, err := api.ChatMessages(ctx, args[0], after, 500)
				if err != nil {
					return apiError("list messages", err)
				}
				msgs = append(msgs, page...)
				if next == nil {
					break
				}
				after = *next
			}
			cost, err := api.ChatCost(ctx, args[0])
			if err != nil {
				return apiError("chat cost", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"chat": ch.Chat, "queue": nonNil(ch.Queue), "messages": nonNil(msgs), "cost": cost})
			}
			out := termSafe{cmd.OutOrStdout()}
			pairs := [][2]string{
				{"ID", ch.Chat.ID},
				{"Title", orDash(ch.Chat.Title)},
				{"Status", ch.Chat.Status},
				{"Archived", fmtBool(ch.Chat.Archived)},
				{"Model", ch.Chat.ModelConfigID},
				{"Created", fmtTime(ch.Chat.CreatedAt)},
				{"Updated", fmtTime(ch.Chat.UpdatedAt)},
			}
			if ch.Chat.LastError != "" {
				pairs = append(pairs, [2]string{"Last error", ch.Chat.LastError})
			}
			pairs = append(pairs, costPairs(cost)...)
			if err := printDetails(out, pairs...); err != nil {
				return err
			}
			for _, m := range msgs {
				fmt.Fprintf(out, "\n[%d] %s:\n", m.Seq, m.Role)
				for _, p := range m.Parts {
					fmt.Fprintln(out, describePart(p))
				}
				if m.EndReason == wire.EndInterrupted {
					fmt.Fprintln(out, interruptedNote)
				}
			}
			for _, q := range ch.Queue {
				fmt.Fprintf(out, "\n[queued %s]\n", q.ID)
				for _, p := range q.Parts {
					fmt.Fprintln(out, describePart(p))
				}
			}
			return nil
		}),
	}
}

func (c *cli) chatInterruptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "interrupt ID",
		Short: "Stop a chat's running turn, keeping its partial answer",
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			ch, err := api.InterruptChat(cmd.Context(), args[0])
			if err != nil {
				return apiError("interrupt chat", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), ch)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Interrupting chat %s (status %s).\n", ch.Chat.ID, ch.Chat.Status)
			return nil
		}),
	}
}

// follow streams the turn that started with chat ch (at snapshot version
// ch.SnapshotVersion) until the chat stops running, printing what the
// model says after message afterSeq.
func (c *cli) follow(cmd *cobra.Command, api *client.Client, ch wire.Chat, afterSeq int64, reasoning bool) error {
	ctx := cmd.Context()
	r := c.newRenderer(cmd, reasoning)
	r.afterSeq = afterSeq
	var final *wire.Chat
	err := api.WatchChat(ctx, ch.ID, "", func(ev wire.Event) error {
		if err := r.event(ev); err != nil {
			return err
		}
		if ev.Type == wire.EventChat && ev.Chat != nil && ev.Chat.SnapshotVersion > ch.SnapshotVersion && !ev.Chat.Busy() {
			final = ev.Chat
			return client.ErrStopWatching
		}
		return nil
	})
	if err != nil {
		r.finish()
		if ctx.Err() != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Stopped watching; the chat goes on: chatd chat watch %s\n", ch.ID)
			return nil
		}
		return apiError("watch chat", err)
	}
	if err := r.catchUp(ctx, api, ch.ID); err != nil {
		return err
	}
	r.finish()
	switch {
	case c.json:
	case final.Status == wire.ChatError:
		return fmt.Errorf("chat %s: the turn failed: %s", ch.ID, orDash(final.LastError))
	case final.Status == wire.ChatRequiresAction:
		fmt.Fprintf(cmd.ErrOrStderr(), "The chat waits for client tool results (chat %s).\n", ch.ID)
	}
	return nil
}

// lastSeq is the seq of the chat's newest visible message.
func lastSeq(ctx context.Context, api *client.Client, id string) (int64, error) {
	var last int64
	for {
		page, next, err := api.ChatMessages(ctx, id, last, 500)
		if err != nil {
			return 0, apiError("list messages", err)
		}
		if len(page) > 0 {
			last = page[len(page)-1].Seq
		}
		if next == nil {
			return last, nil
		}
	}
}

// catchUp prints the committed messages the stream did not show: a
// stream sends the newest chat state before replaying messages, so a
// watcher that stops at an idle state may not have seen them yet.
func (r *renderer) catchUp(ctx context.Context, api *client.Client, id string) error {
	for after := r.afterSeq; ; {
		page, next, err := api.ChatMessages(ctx, id, after, 500)
		if err != nil {
			return apiError("list messages", err)
		}
		for _, m := range page {
			if err := r.message(m); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		after = *next
	}
}

// interruptedNote follows the text of an answer an interrupt cut short.
const interruptedNote = "[interrupted]"

// renderer prints chat events for a person, or as JSON lines with --json.
type renderer struct {
	out, errOut io.Writer
	json        bool
	reasoning   bool
	// showUser prints user messages too (watch); follow shows answers only.
	showUser bool
	// afterSeq: messages up to it were printed or are not wanted.
	afterSeq int64
	// live is set while deltas of the step in progress were printed; its
	// committed message then needs no printing.
	live bool
	// midLine is set when stdout does not end in a newline.
	midLine bool
	status  string
	// shownResults holds the tool call ids whose results were printed
	// live; their committed tool message (which follows the assistant
	// message of the step) must not print them again.
	shownResults map[string]bool
}

func (c *cli) newRenderer(cmd *cobra.Command, reasoning bool) *renderer {
	r := &renderer{out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), json: c.json, reasoning: reasoning}
	if !c.json {
		r.out, r.errOut = termSafe{r.out}, termSafe{r.errOut}
	}
	return r
}

func (r *renderer) event(ev wire.Event) error {
	if r.json {
		switch {
		case ev.Type == wire.EventHeartbeat:
			return nil
		case ev.Type == wire.EventMessage && ev.Message != nil:
			if ev.Message.Seq <= r.afterSeq {
				return nil
			}
			r.afterSeq = ev.Message.Seq
		}
		return jsonLine(r.out, ev)
	}
	switch ev.Type {
	case wire.EventPart:
		if ev.Part != nil {
			r.part(*ev.Part)
		}
	case wire.EventMessage:
		if ev.Message != nil {
			return r.message(*ev.Message)
		}
	case wire.EventChat:
		if ev.Chat != nil {
			r.chat(*ev.Chat)
		}
	}
	return nil
}

func (r *renderer) part(p wire.PartDelta) {
	switch p.Kind {
	case wire.PartTextDelta:
		if p.Delta == "" {
			return
		}
		r.live = true
		fmt.Fprint(r.out, p.Delta)
		r.midLine = !strings.HasSuffix(p.Delta, "\n")
	case wire.PartReasoningDelta:
		if r.reasoning {
			r.live = true
			fmt.Fprint(r.errOut, p.Delta)
		}
	case wire.PartToolCall:
		r.live = true
		r.endLine()
		fmt.Fprintf(r.errOut, "[tool call %s %s]\n", p.ToolName, clip(p.Input, 200))
	case wire.PartToolResult:
		r.endLine()
		fmt.Fprintf(r.errOut, "[tool result %s: %s]\n", p.ToolName, clip(p.Output, 200))
		if r.shownResults == nil {
			r.shownResults = map[string]bool{}
		}
		r.shownResults[p.ToolCallID] = true
	case wire.PartRestart:
		// Attempt 0: a worker starts the step; only worth a word when
		// this watcher showed some of an earlier, abandoned try.
		switch {
		case p.Attempt > 0:
			r.endLine()
			fmt.Fprintf(r.errOut, "[retrying the step, attempt %d]\n", p.Attempt)
		case r.live:
			r.endLine()
			fmt.Fprintln(r.errOut, "[the step starts again]")
		}
		r.live = false
	}
}

// message prints a committed message unless its step was printed live.
func (r *renderer) message(m wire.Message) error {
	if m.Seq <= r.afterSeq {
		return nil
	}
	r.afterSeq = m.Seq
	if r.json {
		return jsonLine(r.out, wire.Event{Type: wire.EventMessage, Message: &m})
	}
	switch m.Role {
	case wire.RoleUser:
		r.live = false
		if r.showUser {
			r.endLine()
			fmt.Fprintf(r.out, "> %s\n", strings.ReplaceAll(m.Text(), "\n", "\n> "))
		}
	case wire.RoleAssistant:
		if !r.live {
			for _, p := range m.Parts {
				switch p.Type {
				case "text":
					fmt.Fprint(r.out, p.Text)
					r.midLine = !strings.HasSuffix(p.Text, "\n")
				case "tool_call":
					r.endLine()
					fmt.Fprintf(r.errOut, "[tool call %s %s]\n", p.ToolName, clip(p.Input, 200))
				}
			}
		}
		if m.EndReason == wire.EndInterrupted {
			// Printed or streamed, the text above is all there is.
			r.endLine()
			fmt.Fprintln(r.errOut, interruptedNote)
		}
		r.live = false
	case wire.RoleTool:
		for _, p := range m.Parts {
			if r.shownResults[p.ToolCallID] {
				delete(r.shownResults, p.ToolCallID)
				continue
			}
			r.endLine()
			fmt.Fprintf(r.errOut, "[tool result %s: %s]\n", p.ToolName, clip(p.Output, 200))
		}
		r.live = false
	}
	return nil
}

func (r *renderer) chat(ch wire.Chat) {
	if ch.Status == r.status && ch.Retry == nil {
		return
	}
	r.status = ch.Status
	switch {
	case ch.Retry != nil:
		r.endLine()
		fmt.Fprintf(r.errOut, "[retry %d at %s: %s]\n", ch.Retry.Attempt, fmtTime(ch.Retry.NextAt), ch.Retry.Error)
	case ch.Status == wire.ChatError && ch.LastError != "":
		r.endLine()
		fmt.Fprintf(r.errOut, "[error: %s]\n", ch.LastError)
	case ch.Status == wire.ChatInterrupting:
		r.endLine()
		fmt.Fprintln(r.errOut, "[interrupting]")
	}
}

// endLine ends a line of streamed text before something else is printed.
func (r *renderer) endLine() {
	if r.midLine {
		fmt.Fprintln(r.out)
		r.midLine = false
	}
}

func (r *renderer) finish() { r.endLine() }

// jsonLine writes v as one compact JSON line, for scripts to follow.
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// describePart renders a message part on one or more lines.
func describePart(p wire.Part) string {
	switch p.Type {
	case "text":
		return p.Text
	case "reasoning":
		return "(reasoning) " + clip(p.Text, 500)
	case "tool_call":
		return fmt.Sprintf("(tool call %s %s) %s", p.ToolName, p.ToolCallID, clip(p.Input, 500))
	case "tool_result":
		status := "ok"
		if p.IsError {
			status = "error"
		}
		return fmt.Sprintf("(tool result %s %s, %s) %s", p.ToolName, p.ToolCallID, status, clip(p.Output, 500))
	}
	return "(" + p.Type + ")"
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// costPairs describes a chat's cost; "unpriced" stands for a cost the
// model prices do not tell.
func costPairs(c wire.ChatCost) [][2]string {
	usd := func(v *float64) string {
		if v == nil {
			return "unpriced"
		}
		return fmtCost(*v)
	}
	total := usd(c.CostUSD)
	if len(c.Children) > 0 {
		total += fmt.Sprintf(" (own %s, %d subagents)", usd(c.OwnCostUSD), len(c.Children))
	}
	pairs := [][2]string{{"Cost", total}}
	if c.UnpricedMessages > 0 {
		pairs = append(pairs, [2]string{"Unpriced calls", strconv.Itoa(c.UnpricedMessages)})
	}
	if c.UnmeteredMessages > 0 {
		pairs = append(pairs, [2]string{"Unmetered calls", strconv.Itoa(c.UnmeteredMessages) + " (interrupted before usage was reported)"})
	}
	for _, k := range c.Children {
		pairs = append(pairs, [2]string{"Subagent " + k.ChatID, fmt.Sprintf("%s  %s", usd(k.CostUSD), orDash(k.Title))})
	}
	return pairs
}
