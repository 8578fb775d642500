package server

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/store"
)

// warnBaseURLs names the OpenAI-type providers whose base_url has a path
// that does not end in /v1. Earlier versions added /v1 to such a base;
// now it is taken as the SDK's own base URL (Gemini's ends in /openai),
// so a row saved as "https://api.groq.com/openai" would now call
// .../openai/chat/completions. Reading the providers is best effort.
func warnBaseURLs(ctx context.Context, st store.Store, log *slog.Logger) {
	ps, err := st.ListProviders(ctx)
	if err != nil {
		log.Warn("check provider base URLs", "error", err)
		return
	}
	for _, p := range ps {
		if msg := baseURLWarning(p); msg != "" {
			log.Warn(msg, "provider", p.Name, "base_url", p.BaseURL,
				"calls", gateway.SDKBaseURL(p.Type, p.BaseURL)+"/chat/completions")
		}
	}
}

// baseURLWarning says what may be wrong with p's base URL, or "".
func baseURLWarning(p store.Provider) string {
	if p.Type == store.ProviderAnthropic {
		return ""
	}
	u, err := url.Parse(strings.TrimRight(p.BaseURL, "/"))
	if err != nil || u.Path == "" || strings.HasSuffix(u.Path, "/v1") {
		return ""
	}
	return "provider base_url has a path not ending in /v1: chatd calls it as the OpenAI SDK would, without adding /v1 (earlier versions added it); if this provider's SDK base URL ends in /v1, save that"
}
