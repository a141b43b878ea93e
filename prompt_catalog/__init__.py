"""The prompt catalog's domain: prompt content, sandboxed rendering, versioned storage.

Shared by the catalog's Lambda handlers (bundled into their assets), the prompts-as-code
loader that runs at synth, the command-line client and the tests. Depends on jinja2 and
boto3 only.
"""
