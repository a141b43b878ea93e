"""Client and command-line tool (``llmops-prompts``) for the prompt catalog API, signed with SigV4."""
