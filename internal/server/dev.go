package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// devProvider is the built-in fake LLM upstream of dev mode, served on its
// own loopback port so it is never reachable from outside the machine.
type devProvider struct {
	ln  net.Listener
	srv *http.Server
}

// devModels are registered on each fake provider. Their names and display
// names say they are fake so nobody mistakes them for a real model.
var devModels = []struct {
	provider, typ, model, display string
}{
	{"dev-openai", string(store.ProviderOpenAI), "fake-echo", "FAKE echo model (built-in dev provider, OpenAI API)"},
	{"dev-anthropic", string(store.ProviderAnthropic), "fake-echo", "FAKE echo model (built-in dev provider, Anthropic API)"},
}

func startDevProvider(ctx context.Context, st store.Store, kr *secret.Keyring, log *slog.Logger, latency time.Duration) (*devProvider, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for dev provider: %w", err)
	}
	base := "http://" + ln.Addr().String()
	d := &devProvider{ln: ln, srv: &http.Server{Handler: llmtest.NewDev(llmtest.DevConfig{Latency: latency}), ReadHeaderTimeout: 10 * time.Second}}

	// A fake central key, so the gateway's central-key path is exercised
	// exactly as in production.
	sealed, err := kr.Seal(secret.New("fake-dev-provider-key"))
	if err != nil {
		ln.Close()
		return nil, err
	}
	hint := secret.Hint("fake-dev-provider-key")
	for i, m := range devModels {
		baseURL := base
		if m.typ == string(store.ProviderOpenAI) {
			baseURL += "/v1"
		}
		p, err := st.GetProviderByName(ctx, m.provider)
		switch {
		case errors.Is(err, store.ErrNotFound):
			p, err = st.CreateProvider(ctx, store.Provider{
				Name: m.provider, Type: store.ProviderType(m.typ), BaseURL: baseURL, Enabled: true,
				APIKeyCipher: sealed, APIKeyHint: hint,
			})
		case err == nil:
			// The port is new on every start.
			p, err = st.UpdateProvider(ctx, p.ID, store.ProviderPatch{BaseURL: &baseURL})
		}
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("register dev provider %s: %w", m.provider, err)
		}
		if _, err := st.GetModelByName(ctx, p.ID, m.model); errors.Is(err, store.ErrNotFound) {
			in, out := 1.0, 2.0
			_, err = st.CreateModel(ctx, store.ModelConfig{
				ProviderID: p.ID, Model: m.model, DisplayName: m.display, ContextLimit: 128000,
				Prices:  store.Prices{Input: &in, Output: &out},
				Enabled: true, IsDefault: i == 0,
			})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				ln.Close()
				return nil, fmt.Errorf("register dev model %s/%s: %w", m.provider, m.model, err)
			}
		} else if err != nil {
			ln.Close()
			return nil, fmt.Errorf("look up dev model: %w", err)
		}
	}
	log.Warn("dev mode: serving the built-in FAKE LLM provider; its answers are canned, not from a real model", "addr", base)
	return d, nil
}

func (d *devProvider) serve(log *slog.Logger) {
	if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("dev provider stopped", "err", err)
	}
}

func (d *devProvider) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx)
}
