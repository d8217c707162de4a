"""Speech in and out: two-tier ASR (pocketsphinx grammar, faster-whisper) and Piper TTS."""
