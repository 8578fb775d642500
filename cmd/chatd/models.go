package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) modelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List models; admins also add, change and remove them",
	}
	cmd.AddCommand(c.modelsLsCmd(), c.modelsCreateCmd(), c.modelsUpdateCmd(), c.modelsRmCmd())
	return cmd
}

func (c *cli) printModels(cmd *cobra.Command, ms ...wire.Model) error {
	t := newTable(cmd.OutOrStdout(), "ID", "PROVIDER", "MODEL", "NAME", "CONTEXT",
		"INPUT $/M", "OUTPUT $/M", "CACHE READ $/M", "CACHE WRITE $/M", "ENABLED", "DEFAULT", "API", "COMPACT AT")
	for _, m := range ms {
		ctxLimit := "-"
		if m.ContextLimit > 0 {
			ctxLimit = fmtCount(m.ContextLimit)
		}
		api := "-"
		if m.ProviderType != "anthropic" {
			api = "chat"
			if m.UseResponsesAPI {
				api = "responses"
			}
		}
		compactAt := "inherit"
		if m.CompactionThresholdPercent != nil {
			compactAt = strconv.Itoa(*m.CompactionThresholdPercent) + "%"
		}
		t.row(m.ID, m.Provider, m.Model, orDash(m.DisplayName), ctxLimit,
			fmtPrice(m.Prices.Input), fmtPrice(m.Prices.Output), fmtPrice(m.Prices.CacheRead), fmtPrice(m.Prices.CacheWrite),
			fmtBool(m.Enabled), fmtBool(m.Default), api, compactAt)
	}
	return t.flush()
}

func (c *cli) printModel(cmd *cobra.Command, m wire.Model) error {
	if c.json {
		return printJSON(cmd.OutOrStdout(), m)
	}
	return c.printModels(cmd, m)
}

func (c *cli) modelsLsCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the models offered to you",
		Args:    cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			ms, err := api.Models(cmd.Context(), client.ModelsOptions{All: all})
			if err != nil {
				return apiError("list models", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"models": nonNil(ms)})
			}
			return c.printModels(cmd, ms...)
		}),
	}
	cmd.Flags().BoolVar(&all, "all", false, "include disabled models (admins)")
	return cmd
}

// priceFlags are the four per-million-token prices. They are strings so
// that "unknown" can clear a price.
type priceFlags struct {
	input, output, cacheRead, cacheWrite string
}

func (p *priceFlags) register(f *pflag.FlagSet) {
	const help = " in US dollars per million tokens (\"unknown\" to clear)"
	f.StringVar(&p.input, "input-price", "", "input price"+help)
	f.StringVar(&p.output, "output-price", "", "output price"+help)
	f.StringVar(&p.cacheRead, "cache-read-price", "", "cache read price"+help)
	f.StringVar(&p.cacheWrite, "cache-write-price", "", "cache write price"+help)
}

// apply sets the prices whose flags were given on base. changed is false
// if none was.
func (p *priceFlags) apply(f *pflag.FlagSet, base wire.Prices) (out wire.Prices, changed bool, err error) {
	out = base
	for _, x := range []struct {
		flag string
		val  string
		dst  **float64
	}{
		{"input-price", p.input, &out.Input},
		{"output-price", p.output, &out.Output},
		{"cache-read-price", p.cacheRead, &out.CacheRead},
		{"cache-write-price", p.cacheWrite, &out.CacheWrite},
	} {
		if !f.Changed(x.flag) {
			continue
		}
		changed = true
		v, err := parsePrice(x.val)
		if err != nil {
			return wire.Prices{}, false, fmt.Errorf("--%s: %w", x.flag, err)
		}
		*x.dst = v
	}
	return out, changed, nil
}

func parsePrice(s string) (*float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "unknown", "none", "-":
		return nil, nil
	}
	v, err := strconv.ParseFloat(strings.TrimPrefix(s, "$"), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, fmt.Errorf("%q is not a price: want a number of dollars per million tokens, or unknown", s)
	}
	return &v, nil
}

func (c *cli) modelsCreateCmd() *cobra.Command {
	var (
		r         client.CreateModelRequest
		prices    priceFlags
		disabled  bool
		threshold string
	)
	cmd := &cobra.Command{
		Use:   "create --provider P --model M",
		Short: "Offer a model of a provider to users",
		Long: `Offer a model of a provider to users. The context limit and prices
default to the built-in catalogue; if any price is given, the ones not
given are unknown.`,
		Example: `  chatd models create --provider openai --model gpt-4o --default
  chatd models create --provider local --model llama3 --input-price 0 --output-price 0`,
		Args: cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			p, changed, err := prices.apply(cmd.Flags(), wire.Prices{})
			if err != nil {
				return err
			}
			if changed {
				r.Prices = &p
			}
			if disabled {
				f := false
				r.Enabled = &f
			}
			if r.ContextLimit < 0 {
				return errors.New("--context-limit must not be negative")
			}
			if cmd.Flags().Changed("compaction-threshold") {
				pct, err := parseThreshold(threshold)
				if err != nil {
					return err
				}
				r.CompactionThresholdPercent = pct
			}
			m, err := api.CreateModel(cmd.Context(), r)
			if err != nil {
				return apiError("create model", err)
			}
			return c.printModel(cmd, m)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&r.Provider, "provider", "", "provider name")
	f.StringVar(&r.Model, "model", "", "the provider's model name, e.g. gpt-4o")
	f.StringVar(&r.DisplayName, "display-name", "", "name shown to users")
	f.Int64Var(&r.ContextLimit, "context-limit", 0, "context window in tokens (default from the catalogue)")
	prices.register(f)
	f.BoolVar(&r.Default, "default", false, "make it the default model")
	f.BoolVar(&disabled, "disabled", false, "create it disabled")
	f.BoolVar(&r.UseResponsesAPI, "responses-api", false, "call this OpenAI-type model through the Responses API")
	f.StringVar(&threshold, "compaction-threshold", "", "compact chats on this model when the context is this `PERCENT` full (1-100; default: the deployment's)")
	_ = cmd.MarkFlagRequired("provider")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func (c *cli) modelsUpdateCmd() *cobra.Command {
	var (
		displayName     string
		contextLimit    int64
		prices          priceFlags
		enable, disable bool
		isDefault       bool
		responsesAPI    bool
		threshold       string
	)
	cmd := &cobra.Command{
		Use:     "update ID",
		Short:   "Change a model",
		Example: `  chatd models update 0193... --output-price 12 --default`,
		Args:    cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			f := cmd.Flags()
			var r client.UpdateModelRequest
			if f.Changed("display-name") {
				r.DisplayName = &displayName
			}
			if f.Changed("context-limit") {
				if contextLimit < 0 {
					return errors.New("--context-limit must not be negative")
				}
				r.ContextLimit = &contextLimit
			}
			if enable || disable {
				r.Enabled = &enable
			}
			if f.Changed("default") {
				r.Default = &isDefault
			}
			if f.Changed("responses-api") {
				r.UseResponsesAPI = &responsesAPI
			}
			if f.Changed("compaction-threshold") {
				pct, err := parseThreshold(threshold)
				if err != nil {
					return err
				}
				r.CompactionThreshold = &client.Threshold{Percent: pct}
			}
			if f.Changed("input-price") || f.Changed("output-price") || f.Changed("cache-read-price") || f.Changed("cache-write-price") {
				// The API replaces all four prices at once: start from the
				// current ones so that unnamed prices stay.
				m, err := api.GetModel(cmd.Context(), args[0])
				if err != nil {
					return apiError("load model", err)
				}
				p, _, err := prices.apply(f, m.Prices)
				if err != nil {
					return err
				}
				r.Prices = &p
			}
			if r == (client.UpdateModelRequest{}) {
				return errors.New("nothing to update: give at least one flag")
			}
			m, err := api.UpdateModel(cmd.Context(), args[0], r)
			if err != nil {
				return apiError("update model", err)
			}
			return c.printModel(cmd, m)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&displayName, "display-name", "", "name shown to users")
	f.Int64Var(&contextLimit, "context-limit", 0, "context window in tokens")
	prices.register(f)
	f.BoolVar(&enable, "enable", false, "enable the model")
	f.BoolVar(&disable, "disable", false, "disable the model")
	f.BoolVar(&isDefault, "default", false, "make it the default model (--default=false to unset)")
	f.BoolVar(&responsesAPI, "responses-api", false, "call this OpenAI-type model through the Responses API (--responses-api=false for Chat Completions)")
	f.StringVar(&threshold, "compaction-threshold", "", "compact chats on this model when the context is this `PERCENT` full (1-100), or \"inherit\" for the deployment's")
	cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	return cmd
}

func (c *cli) modelsRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"delete"},
		Short:   "Delete a model",
		Args:    cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			if err := api.DeleteModel(cmd.Context(), args[0]); err != nil {
				return apiError("delete model", err)
			}
			if !c.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted model %s.\n", args[0])
			}
			return nil
		}),
	}
}

// parseThreshold reads a compaction threshold flag: a percent from 1 to
// 100, or "inherit" (nil).
func parseThreshold(s string) (*int, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	if strings.EqualFold(s, "inherit") {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return nil, fmt.Errorf("--compaction-threshold %q: want a percent from 1 to 100, or inherit", s)
	}
	return &n, nil
}
