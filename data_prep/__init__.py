"""Data preparation: the pure text functions behind the data-preparation workflow.

Splitting text for Amazon Comprehend on UTF-8 boundaries, assembling Amazon Textract blocks
into text in reading order, redacting PII, normalising and fingerprinting text, and building
the curated JSONL records with lineage. No AWS calls: handlers pass results in and out.
"""
