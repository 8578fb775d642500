// Package route is the one entry point that turns a model config into a
// callable model, through the in-process AI gateway or, in direct mode,
// straight to the provider.
package route

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"charm.land/fantasy"
	"charm.land/fantasy/providers/anthropic"
	"charm.land/fantasy/providers/openai"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// ErrUnroutable is wrapped by every error that refuses to build a model
// because the configuration does not allow it (fail closed). Retrying does
// not help; an administrator or the user has to change something.
var ErrUnroutable = errors.New("model is not routable")

// Transports gives the gateway's in-process transport for a provider.
// *gateway.Gateway implements it.
type Transports interface {
	TransportFor(providerName, source string) http.RoundTripper
}

// Config configures a Router.
type Config struct {
	// Store holds model configs, providers and user provider keys. Required.
	Store store.Store
	// Keyring opens user provider keys and, in direct mode, central keys.
	// If nil, any route that needs to open a key fails closed.
	Keyring *secret.Keyring
	// Gateway gives the in-process transports. If nil, gateway mode fails
	// closed ("no gateway transport").
	Gateway Transports
	// Direct calls providers directly instead of through the gateway (a
	// deployment option). If false, gateway mode.
	Direct bool
	// AllowBYOK uses a user's own provider key when the user has one. If
	// false, user keys are never read.
	AllowBYOK bool
	// DirectClient sends direct-mode requests. If nil, a client over
	// http.DefaultTransport.
	DirectClient *http.Client
	// Debug decides which models are recorded and records them. If nil,
	// nothing is ever recorded.
	Debug *chatdebug.Service
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
}

// Router builds models. It is safe for concurrent use.
type Router struct {
	store     store.Store
	keyring   *secret.Keyring
	gw        Transports
	direct    bool
	allowBYOK bool
	client    *http.Client
	debug     *chatdebug.Service
	log       *slog.Logger
}

// New returns a Router.
func New(c Config) *Router {
	gw := c.Gateway
	// A nil *gateway.Gateway in the interface is not a nil interface; it
	// would hand out transports that panic on first use.
	if g, ok := gw.(*gateway.Gateway); ok && g == nil {
		gw = nil
	}
	return &Router{
		store:     c.Store,
		keyring:   c.Keyring,
		gw:        gw,
		direct:    c.Direct,
		allowBYOK: c.AllowBYOK,
		client:    cmp.Or(c.DirectClient, &http.Client{Transport: http.DefaultTransport}),
		debug:     c.Debug,
		log:       cmp.Or(c.Logger, slog.Default()),
	}
}

// Purpose is what a model is built for; it is logged, and lets callers
// keep one entry point for every kind of call.
type Purpose string

// Purposes.
const (
	PurposeChat        Purpose = "chat"
	PurposeTitle       Purpose = "title"
	PurposeQuickGen    Purpose = "quickgen"
	PurposeSubagent    Purpose = "subagent"
	PurposeAdvisor     Purpose = "advisor"
	PurposeCompaction  Purpose = "compaction"
	PurposeComputerUse Purpose = "computer_use"
)

// Request is who a model is for and which model config it uses.
type Request struct {
	// UserID is the user the call acts for; their own provider key is used
	// when BYOK is allowed. If empty, no user key is looked up.
	UserID string
	// ModelConfigID is the store.ModelConfig to call. Required.
	ModelConfigID string
	// APIKeyID is the chatd API key that initiated the turn (from the
	// latest visible user message). Required in gateway mode.
	APIKeyID string
	// ChatID and SubchatID are sent as X-Chatd-Chat-Id and
	// X-Chatd-Subchat-Id in gateway mode so records link to the chat. Leave
	// them empty for titles and other quick generations.
	ChatID, SubchatID string
	// Purpose says what the model is for.
	Purpose Purpose
	// Debug describes the debug run the model's calls belong to. If nil,
	// the model is never recorded.
	Debug *DebugInfo
}

// DebugInfo is what a debug run records about the calls of a model.
type DebugInfo struct {
	// Run, if set, is a run already started (a later step of the same
	// turn): the model records into it and no new run is started.
	Run *chatdebug.Run
	// Override is the chat's own toggle; nil inherits the user's and the
	// deployment's.
	Override *bool
	// Kind is the run kind (store.DebugKindChatTurn, ...).
	Kind string
	// ChatID, RootChatID and ParentChatID place the run; MessageID is the
	// message that triggered it.
	ChatID, RootChatID, ParentChatID string
	MessageID                        string
}

// Options tune the built model.
type Options struct {
	// MaxOutputTokens is applied to calls that do not set their own. If
	// zero, the provider library's default.
	MaxOutputTokens int64
}

// Result is a built model and what it was built from.
type Result struct {
	Model       fantasy.LanguageModel
	ModelConfig store.ModelConfig
	Provider    store.Provider
	// Credential is store.CredentialCentral or store.CredentialBYOK.
	Credential string
	// Recorded reports whether Model's calls are recorded into Run.
	Recorded bool
	// Run is the debug run the model records into, or nil. The caller
	// finishes it (Run.Finish), unless it passed it in DebugInfo.Run.
	Run *chatdebug.Run
}

// Synthetic gateway base URL. The in-process transport ignores the host
// and reads the path from "/v1/" on; the provider name in the path keeps
// requests readable in logs and errors.
const gatewayHost = "http://chatd-gateway"

// placeholderKey is the credential sent in gateway mode without BYOK. The
// gateway drops it and injects the central key; the daemon never holds
// central keys in this mode.
const placeholderKey = "chatd-placeholder"

// userAgent makes the gateway record in-process calls as client "chatd".
var userAgent = "chatd/route charm-fantasy/" + fantasy.Version

// Model builds the model of req.ModelConfigID for req. Configuration that
// does not allow the call is an error wrapping ErrUnroutable.
func (r *Router) Model(ctx context.Context, req Request, opts Options) (Result, error) {
	res, err := r.model(ctx, req, opts)
	if err != nil {
		return Result{}, fmt.Errorf("route model %q: %w", req.ModelConfigID, err)
	}
	return res, nil
}

func unroutable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnroutable}, args...)...)
}

func (r *Router) model(ctx context.Context, req Request, opts Options) (Result, error) {
	if req.ModelConfigID == "" {
		return Result{}, unroutable("no model config given")
	}
	mc, err := r.store.GetModel(ctx, req.ModelConfigID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Result{}, unroutable("model config does not exist")
	case err != nil:
		return Result{}, fmt.Errorf("load model config: %w", err)
	case !mc.Enabled:
		return Result{}, unroutable("model %q is disabled", mc.Model)
	}
	p, err := r.store.GetProvider(ctx, mc.ProviderID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Result{}, unroutable("provider %q of model %q does not exist", mc.ProviderID, mc.Model)
	case err != nil:
		return Result{}, fmt.Errorf("load provider: %w", err)
	case p.Name == "":
		return Result{}, unroutable("provider %q of model %q has no name", p.ID, mc.Model)
	case !p.Enabled:
		return Result{}, unroutable("provider %q is disabled", p.Name)
	case !p.Type.Valid():
		return Result{}, unroutable("provider %q has unknown type %q", p.Name, p.Type)
	}

	var rt route
	if r.direct {
		rt, err = r.directRoute(ctx, req, p)
	} else {
		rt, err = r.gatewayRoute(ctx, req, p)
	}
	if err != nil {
		return Result{}, err
	}

	run, started := r.startRun(ctx, req, mc, p)
	if run != nil {
		rt.record(run)
		r.scrubCentralKey(run, p)
	}
	m, err := build(ctx, p.Type, mc, rt)
	if err != nil {
		if started {
			run.Finish(ctx, store.DebugError, "build model: "+err.Error())
		}
		return Result{}, fmt.Errorf("build model: %w", err)
	}
	if opts.MaxOutputTokens > 0 {
		m = limited{LanguageModel: m, max: opts.MaxOutputTokens}
	}
	if run != nil {
		m = run.WrapModel(m)
	}
	r.log.DebugContext(ctx, "route model",
		"model_config_id", mc.ID, "model", mc.Model, "provider", p.Name,
		"purpose", string(req.Purpose), "direct", r.direct, "credential", rt.credential,
		"api_key_id", req.APIKeyID, "chat_id", req.ChatID)
	return Result{Model: m, ModelConfig: mc, Provider: p, Credential: rt.credential, Recorded: run != nil, Run: run}, nil
}

// startRun returns the debug run the model records into: the one passed
// in, or a new one when recording is on for the request. started reports
// a new run. Deciding and starting are best effort: any failure means an
// unrecorded model.
func (r *Router) startRun(ctx context.Context, req Request, mc store.ModelConfig, p store.Provider) (run *chatdebug.Run, started bool) {
	d := req.Debug
	if r.debug == nil || d == nil {
		return nil, false
	}
	if d.Run != nil {
		return d.Run, false
	}
	if !r.debug.Enabled(ctx, d.Override, req.UserID) {
		return nil, false
	}
	run = r.debug.StartRun(ctx, store.DebugRun{
		Kind:          cmp.Or(d.Kind, store.DebugKindQuickgen),
		ChatID:        d.ChatID,
		RootChatID:    d.RootChatID,
		ParentChatID:  d.ParentChatID,
		MessageID:     d.MessageID,
		UserID:        req.UserID,
		ModelConfigID: mc.ID,
		Provider:      p.Name,
		Model:         mc.Model,
	})
	return run, run != nil
}

// scrubCentralKey registers the provider's central key with run in gateway
// mode. The route only holds a placeholder there, but the recording
// transport sits below the gateway, where the real key goes upstream and
// a provider may echo it back (a 401 quoting the key it was sent). In
// direct mode the route's own key is that key and record has it already.
func (r *Router) scrubCentralKey(run *chatdebug.Run, p store.Provider) {
	if r.direct || r.keyring == nil || len(p.APIKeyCipher) == 0 {
		return
	}
	key, err := r.keyring.Open(p.APIKeyCipher)
	if err != nil {
		// The gateway fails the call with the same error; nothing is
		// sent with this key, so nothing can echo it.
		return
	}
	run.AddSecrets(key)
}

// route is how one model reaches its provider.
type route struct {
	baseURL    string
	client     *http.Client
	credential string
	// t is the credential transport under the client.
	t *transport
}

// record puts run's HTTP recording under the route: below the gateway in
// gateway mode, so the real provider exchange is recorded, or below the
// credential transport in direct mode. The keys the route holds are
// scrubbed from whatever is stored.
func (rt *route) record(run *chatdebug.Run) {
	if !rt.t.auth.Key.IsZero() && rt.t.auth.Key.Reveal() != placeholderKey {
		run.AddSecrets(rt.t.auth.Key)
	}
	if rt.t.keyID != "" {
		rt.t.upstream = run.Transport
		return
	}
	rt.t.base = run.Transport(rt.t.base)
}

func (r *Router) gatewayRoute(ctx context.Context, req Request, p store.Provider) (route, error) {
	if req.APIKeyID == "" {
		return route{}, unroutable("no active chatd API key id for provider %q (gateway mode needs the key that started the turn)", p.Name)
	}
	if r.gw == nil {
		return route{}, unroutable("no gateway transport for provider %q", p.Name)
	}
	base := r.gw.TransportFor(p.Name, store.SourceAgents)
	if base == nil {
		return route{}, unroutable("no gateway transport for provider %q", p.Name)
	}
	userKey, err := r.userKey(ctx, req.UserID, p)
	if err != nil {
		return route{}, err
	}
	t := &transport{
		base:      base,
		keyID:     req.APIKeyID,
		chatID:    req.ChatID,
		subchatID: req.SubchatID,
	}
	rt := route{
		baseURL:    gatewayHost + "/gateway/" + url.PathEscape(p.Name),
		credential: store.CredentialCentral,
	}
	if userKey.IsZero() {
		t.auth = authFor(p.Type, secret.New(placeholderKey))
	} else {
		t.auth = authFor(p.Type, userKey)
		t.delegated = true
		rt.credential = store.CredentialBYOK
	}
	rt.client = &http.Client{Transport: t}
	rt.t = t
	if p.Type != store.ProviderAnthropic {
		rt.baseURL += "/v1"
	}
	return rt, nil
}

func (r *Router) directRoute(ctx context.Context, req Request, p store.Provider) (route, error) {
	if p.BaseURL == "" {
		return route{}, unroutable("provider %q has no base URL", p.Name)
	}
	key, err := r.userKey(ctx, req.UserID, p)
	if err != nil {
		return route{}, err
	}
	credential := store.CredentialBYOK
	if key.IsZero() {
		credential = store.CredentialCentral
		if len(p.APIKeyCipher) == 0 {
			return route{}, unroutable("provider %q has no central API key", p.Name)
		}
		if r.keyring == nil {
			return route{}, unroutable("no keyring to open the central API key of provider %q", p.Name)
		}
		if key, err = r.keyring.Open(p.APIKeyCipher); err != nil {
			// The cause goes to the log only: routing errors reach users.
			r.log.Warn("route: open central provider key", "provider", p.Name, "error", err)
			return route{}, unroutable("the central API key of provider %q could not be decrypted; check the server's keyring", p.Name)
		}
		if key.IsZero() {
			return route{}, unroutable("provider %q has no central API key", p.Name)
		}
	}
	t := &transport{base: cmp.Or[http.RoundTripper](r.client.Transport, http.DefaultTransport), auth: authFor(p.Type, key)}
	c := *r.client
	c.Transport = t
	return route{
		baseURL:    directBaseURL(p.Type, p.BaseURL),
		client:     &c,
		credential: credential,
		t:          t,
	}, nil
}

// directBaseURL is the base URL the provider's SDK takes, as the gateway
// computes it (gateway.SDKBaseURL), so that direct mode and gateway mode
// call the same upstream URL for the same provider row.
func directBaseURL(t store.ProviderType, base string) string {
	return gateway.SDKBaseURL(t, base)
}

// userKey returns the user's own key for p, or a zero Value when BYOK is
// off or the user has none. A key that exists but cannot be read fails
// closed rather than falling back to the central key.
func (r *Router) userKey(ctx context.Context, userID string, p store.Provider) (secret.Value, error) {
	if !r.allowBYOK || userID == "" {
		return secret.Value{}, nil
	}
	k, err := r.store.GetProviderKey(ctx, userID, p.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return secret.Value{}, nil
	case err != nil:
		return secret.Value{}, fmt.Errorf("load user provider key: %w", err)
	case len(k.KeyCipher) == 0:
		return secret.Value{}, nil
	case r.keyring == nil:
		return secret.Value{}, unroutable("no keyring to open your key for provider %q", p.Name)
	}
	v, err := r.keyring.Open(k.KeyCipher)
	if err != nil {
		r.log.Warn("route: open user provider key", "provider", p.Name, "user_id", userID, "error", err)
		return secret.Value{}, unroutable("your key for provider %q could not be decrypted (check the server's keyring, or set the key again)", p.Name)
	}
	return v, nil
}

// build makes the fantasy model. The SDK is given the placeholder as its
// key: an explicit key keeps it from reading OPENAI_API_KEY or
// ANTHROPIC_API_KEY, and the real credential is set by the transport only,
// so it never sits in a plain string inside the SDK client where printing
// the model could show it. fantasy already turns the SDKs' own retries
// off; retrying is the caller's job.
func build(ctx context.Context, t store.ProviderType, mc store.ModelConfig, rt route) (fantasy.LanguageModel, error) {
	key := placeholderKey
	var (
		p   fantasy.Provider
		err error
	)
	switch t {
	case store.ProviderAnthropic:
		p, err = anthropic.New(
			anthropic.WithName(string(t)),
			anthropic.WithBaseURL(rt.baseURL),
			anthropic.WithAPIKey(key),
			anthropic.WithHTTPClient(rt.client),
			anthropic.WithUserAgent(userAgent),
		)
	default:
		o := []openai.Option{
			openai.WithName(string(t)),
			openai.WithBaseURL(rt.baseURL),
			openai.WithAPIKey(key),
			openai.WithHTTPClient(rt.client),
			openai.WithUserAgent(userAgent),
		}
		if mc.UseResponsesAPI {
			// WithUseResponsesAPI alone applies only to model ids fantasy
			// knows; the filter makes the model config decide.
			o = append(o, openai.WithUseResponsesAPI(), openai.WithResponsesAPIFunc(func(string) bool { return true }))
		}
		p, err = openai.New(o...)
	}
	if err != nil {
		return nil, err
	}
	return p.LanguageModel(ctx, mc.Model)
}

// limited applies a default output token limit.
type limited struct {
	fantasy.LanguageModel
	max int64
}

func (l limited) Generate(ctx context.Context, c fantasy.Call) (*fantasy.Response, error) {
	if c.MaxOutputTokens == nil {
		c.MaxOutputTokens = &l.max
	}
	return l.LanguageModel.Generate(ctx, c)
}

func (l limited) Stream(ctx context.Context, c fantasy.Call) (fantasy.StreamResponse, error) {
	if c.MaxOutputTokens == nil {
		c.MaxOutputTokens = &l.max
	}
	return l.LanguageModel.Stream(ctx, c)
}

func (l limited) GenerateObject(ctx context.Context, c fantasy.ObjectCall) (*fantasy.ObjectResponse, error) {
	if c.MaxOutputTokens == nil {
		c.MaxOutputTokens = &l.max
	}
	return l.LanguageModel.GenerateObject(ctx, c)
}

func (l limited) StreamObject(ctx context.Context, c fantasy.ObjectCall) (fantasy.ObjectStreamResponse, error) {
	if c.MaxOutputTokens == nil {
		c.MaxOutputTokens = &l.max
	}
	return l.LanguageModel.StreamObject(ctx, c)
}
