package wire

// UserSettings are a user's own settings; null inherits the deployment's.
type UserSettings struct {
	DebugRecording *bool `json:"debug_recording"`
	// Models maps each model kind (subagent, advisor, compaction, title)
	// to a model id, or null.
	Models                     map[string]*string `json:"models"`
	CompactionThresholdPercent *int               `json:"compaction_threshold_percent"`
}

// DeploymentSettings are the deployment's settings.
type DeploymentSettings struct {
	DebugRecording bool `json:"debug_recording"`
	// DebugRecordingForced is set by the server's --debug-recording flag.
	DebugRecordingForced       bool               `json:"debug_recording_forced"`
	Models                     map[string]*string `json:"models"`
	CompactionThresholdPercent int                `json:"compaction_threshold_percent"`
}
