package chatdebug

import (
	"context"
	"errors"
	"testing"
)

func TestEnabled(t *testing.T) {
	t.Parallel()
	on, off := true, false
	str := func(s string) *string { return &s }
	boom := errors.New("database is locked")
	tests := []struct {
		name     string
		override *bool
		user     map[string]string
		userErr  error
		deploy   *string
		depErr   error
		force    bool
		want     bool
	}{
		{name: "default off", want: false},
		{name: "chat on", override: &on, want: true},
		{name: "chat off beats user on", override: &off, user: map[string]string{"u1": "true"}, want: false},
		{name: "chat on beats user off", override: &on, user: map[string]string{"u1": "false"}, want: true},
		{name: "chat override ignores store errors", override: &on, userErr: boom, depErr: boom, want: true},
		{name: "user on", user: map[string]string{"u1": "true"}, want: true},
		{name: "user off beats deployment on", user: map[string]string{"u1": "false"}, deploy: str("true"), want: false},
		{name: "user off beats force", user: map[string]string{"u1": "false"}, force: true, want: false},
		{name: "other user's setting ignored", user: map[string]string{"u2": "true"}, want: false},
		{name: "deployment on", deploy: str("true"), want: true},
		{name: "deployment off", deploy: str("false"), want: false},
		{name: "force", force: true, want: true},
		{name: "force beats deployment off", deploy: str("false"), force: true, want: true},
		{name: "user error means off", userErr: boom, deploy: str("true"), force: true, want: false},
		{name: "bad user value means off", user: map[string]string{"u1": "yes"}, deploy: str("true"), want: false},
		{name: "deployment error means off", depErr: boom, want: false},
		{name: "bad deployment value means off", deploy: str("1"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := &fakeSettings{user: tt.user, userErr: tt.userErr, deploy: tt.deploy, depErr: tt.depErr}
			s := New(Config{Runs: newFakeRuns(), UserSettings: fs, Settings: fs, Force: tt.force})
			if got := s.Enabled(context.Background(), tt.override, "u1"); got != tt.want {
				t.Fatalf("Enabled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNilServiceRecordsNothing(t *testing.T) {
	t.Parallel()
	var s *Service
	if s.Enabled(context.Background(), nil, "u1") {
		t.Fatalf("nil service enabled")
	}
	if r := s.StartRun(context.Background(), testRun()); r != nil {
		t.Fatalf("nil service started a run")
	}
	s.CleanupChats([]string{"c1"})
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
}
