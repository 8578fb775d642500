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
	tests := []struct {
		name   string
		user   map[string]string
		deploy map[string]string
		want   int
		wantOK bool
	}{
		{name: "unset"},
		{name: "deployment", deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 80, wantOK: true},
		{name: "user wins", user: map[string]string{"u/" + CompactionThresholdPercent: "50"}, deploy: map[string]string{CompactionThresholdPercent: "80"}, want: 50, wantOK: true},
		{name: "garbage is unset", deploy: map[string]string{CompactionThresholdPercent: "lots"}},
		{name: "out of range is unset", deploy: map[string]string{CompactionThresholdPercent: "101"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeStore{user: tt.user, deploy: tt.deploy}
			got, ok, err := CompactionThreshold(t.Context(), f, "u")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("CompactionThreshold = %d, %t; want %d, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
