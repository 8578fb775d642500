package settings

import (
	"context"
	"errors"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// fakeStore is an in-memory Store; failUser makes user reads fail.
type fakeStore struct {
	user     map[string]string // key "user/key"
	deploy   map[string]string
	failUser bool
}

func (f *fakeStore) GetUserSetting(_ context.Context, userID, key string) (string, error) {
	if f.failUser {
		return "", errors.New("database is locked")
	}
	v, ok := f.user[userID+"/"+key]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (f *fakeStore) PutUserSetting(_ context.Context, userID, key, value string) error {
	f.user[userID+"/"+key] = value
	return nil
}

func (f *fakeStore) DeleteUserSetting(_ context.Context, userID, key string) error {
	delete(f.user, userID+"/"+key)
	return nil
}

func (f *fakeStore) GetSetting(_ context.Context, key string) (string, error) {
	v, ok := f.deploy[key]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (f *fakeStore) PutSetting(_ context.Context, key, value string) error {
	f.deploy[key] = value
	return nil
}

func TestModelOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		user     map[string]string
		deploy   map[string]string
		failUser bool
		kind     string
		wantID   string
		wantOK   bool
		wantErr  bool
	}{
		{name: "neither", kind: ModelSubagent},
		{name: "deployment", deploy: map[string]string{"model_subagent": "d"}, kind: ModelSubagent, wantID: "d", wantOK: true},
		{name: "user wins", user: map[string]string{"u/model_subagent": "u"}, deploy: map[string]string{"model_subagent": "d"}, kind: ModelSubagent, wantID: "u", wantOK: true},
		{name: "other kind", user: map[string]string{"u/model_title": "u"}, kind: ModelAdvisor},
		{name: "cleared deployment", deploy: map[string]string{"model_title": ""}, kind: ModelTitle},
		{name: "unknown kind", kind: "nope", wantErr: true},
		{name: "store error", failUser: true, kind: ModelTitle, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeStore{user: tt.user, deploy: tt.deploy, failUser: tt.failUser}
			id, ok, err := ModelOverride(t.Context(), f, "u", tt.kind)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if id != tt.wantID || ok != tt.wantOK {
				t.Fatalf("ModelOverride = %q, %t; want %q, %t", id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestCompactionThreshold(t *testing.T) {
	t.Parallel()
	pct := func(n int) *int { return &n }
	tests := []struct {
		name     string
		user     map[string]string
		deploy   map[string]string
		model    *int
		failUser bool
		want     int
		wantOK   bool
		wantErr  bool
	}{
		{name: "unset"},
		{name: "deployment", deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 80, wantOK: true},
		{name: "user wins", user: map[string]string{"u/" + CompactionThresholdPercent: "50"}, deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 50, wantOK: true},
		{name: "garbage is unset", deploy: map[string]string{CompactionThresholdPercent: "lots"}},
		{name: "out of range is unset", deploy: map[string]string{CompactionThresholdPercent: "101"}},
		{name: "model beats deployment", model: pct(60), deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 60, wantOK: true},
		{name: "model alone", model: pct(60), want: 60, wantOK: true},
		{name: "user beats model", user: map[string]string{"u/" + CompactionThresholdPercent: "50"}, model: pct(60), deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 50, wantOK: true},
		{name: "garbage user falls to model", user: map[string]string{"u/" + CompactionThresholdPercent: "lots"}, model: pct(60), want: 60, wantOK: true},
		{name: "out of range model is unset", model: pct(0), deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 80, wantOK: true},
		{name: "store error", failUser: true, model: pct(60), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeStore{user: tt.user, deploy: tt.deploy, failUser: tt.failUser}
			got, ok, err := CompactionThresholdFor(t.Context(), f, "u", tt.model)
			if tt.model == nil {
				// Without a model threshold it is CompactionThreshold.
				got2, ok2, err2 := CompactionThreshold(t.Context(), f, "u")
				if got2 != got || ok2 != ok || (err2 != nil) != (err != nil) {
					t.Fatalf("CompactionThreshold = %d, %t, %v; CompactionThresholdFor without a model = %d, %t, %v", got2, ok2, err2, got, ok, err)
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("CompactionThresholdFor = %d, %t; want %d, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
