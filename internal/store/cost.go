package store

// CostMicros prices u in millionths of a US dollar (tokens times dollars
// per million tokens). It is nil when the input or output price is
// unknown; an unknown cache price falls back to the input price. t says
// how u counts input: OpenAI-style providers include cached tokens in
// their input count, Anthropic counts them apart.
//
// The gateway's records and the chat daemon's messages both use it, so a
// chat's cost matches the gateway's records for the same calls.
func (p Prices) CostMicros(u Usage, t ProviderType) *int64 {
	if p.Input == nil || p.Output == nil {
		return nil
	}
	cr, cw := p.CacheRead, p.CacheWrite
	if cr == nil {
		cr = p.Input
	}
	if cw == nil {
		cw = p.Input
	}
	in := u.Input
	if t != ProviderAnthropic {
		in = max(0, in-u.CacheRead-u.CacheWrite)
	}
	c := float64(in)**p.Input + float64(u.Output)**p.Output +
		float64(u.CacheRead)**cr + float64(u.CacheWrite)**cw
	v := int64(c + 0.5)
	return &v
}
