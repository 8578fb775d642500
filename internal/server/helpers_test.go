package server

import "github.com/chatd/chatd/internal/secret"

func secretValue(s string) secret.Value { return secret.New(s) }
