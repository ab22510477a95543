#!/usr/bin/env python3
"""Score Presidio, scrubadub and our redactor on the labelled corpus (run by scripts/compare-redaction).

    compare_redaction.py CORPUS OURS_SPANS OURS_TIMING

CORPUS is the labelled JSONL corpus; OURS_SPANS has one line of {"spans": [...]} per corpus record
(character offsets), written by `cargo run --example redact_detect`; OURS_TIMING is that example's
{"seconds", "bytes"} report. Presidio and scrubadub run here, in this interpreter, on the same texts.

Scoring, per tool and per category: a reported span is correct when it overlaps a labelled span
of the same category (after mapping the tool's entity names to ours); a labelled span is found
when a correct report overlaps it. Reports a tool makes in entity types we have no category for
(URL, US_BANK_NUMBER, ...) are counted apart, as "unmapped", and do not lower precision.
Throughput is the corpus's UTF-8 bytes over the time spent in the detection calls alone (no
process start, no model load), after one warm-up call.
"""

import json
import logging
import sys
import time
import warnings

CATEGORIES = ["email", "phone", "ipv4", "ipv6", "ssn", "payment_card", "date_of_birth", "drivers_licence",
              "aws_access_key_id", "aws_secret_key", "api_key", "bearer_token", "jwt", "private_key", "password",
              "slack_token", "github_token"]

# Presidio entity -> our category. IP_ADDRESS is split by the text's shape. DATE_TIME is every date,
# not only birth dates: mapping it to date_of_birth is generous to recall and costs it precision.
PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "US_SSN": "ssn", "CREDIT_CARD": "payment_card",
    "DATE_TIME": "date_of_birth", "US_DRIVER_LICENSE": "drivers_licence", "UK_DRIVING_LICENCE": "drivers_licence",
}
# scrubadub filth type -> our category. `credential` is a username/password pair: mapped to password.
SCRUBADUB_MAP = {
    "email": "email", "phone": "phone", "credit_card": "payment_card", "social_security_number": "ssn",
    "date_of_birth": "date_of_birth", "drivers_licence": "drivers_licence", "credential": "password",
}


def load_corpus(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def presidio_tool():
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """spaCy without a trained model (none can be downloaded here): tokens only, no NER."""

        def load(self):
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    # Pattern recognizers only: the NER recognizer has no model behind it.
    registry.recognizers = [r for r in registry.recognizers if not isinstance(r, SpacyRecognizer)]
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    def detect(text):
        out = []
        for r in analyzer.analyze(text, language="en"):
            if r.entity_type == "IP_ADDRESS":
                category = "ipv6" if ":" in text[r.start:r.end] else "ipv4"
            else:
                category = PRESIDIO_MAP.get(r.entity_type)
            out.append((r.start, r.end, category, r.score))
        return out

    return detect


def scrubadub_tool():
    import scrubadub

    scrubber = scrubadub.Scrubber()
    for extra in ("date_of_birth", "drivers_licence"):
        try:
            scrubber.add_detector(extra)
        except Exception as e:  # a detector that does not support the locale
            print(f"scrubadub: cannot add detector {extra}: {e}", file=sys.stderr)

    def detect(text):
        return [(f.beg, f.end, SCRUBADUB_MAP.get(f.type), 1.0) for f in scrubber.iter_filth(text)]

    return detect


def run_tool(detect, texts):
    detect(texts[0])  # warm-up: lazy loading, caches
    results, spent = [], 0.0
    for text in texts:
        started = time.perf_counter()
        spans = detect(text)
        spent += time.perf_counter() - started
        results.append(spans)
    return results, spent


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def score(records, predictions, min_score=0.0):
    table = {c: {"labelled": 0, "found": 0, "reported": 0, "correct": 0} for c in CATEGORIES}
    unmapped = 0
    for record, spans in zip(records, predictions):
        gold = [(s["start"], s["end"], s["category"]) for s in record["spans"]]
        spans = [s for s in spans if s[3] >= min_score]
        for g in gold:
            table[g[2]]["labelled"] += 1
            if any(p[2] == g[2] and overlaps(g, p) for p in spans):
                table[g[2]]["found"] += 1
        for p in spans:
            if p[2] is None:
                unmapped += 1
                continue
            table[p[2]]["reported"] += 1
            if any(g[2] == p[2] and overlaps(g, p) for g in gold):
                table[p[2]]["correct"] += 1
    return table, unmapped


def fmt(n, d):
    return f"{n / d:.2f}" if d else "  - "


def main():
    corpus_path, ours_spans_path, ours_timing_path = sys.argv[1:4]
    logging.disable(logging.CRITICAL)  # tldextract logs its failed attempt to fetch the suffix list
    warnings.filterwarnings("ignore")
    records = load_corpus(corpus_path)
    texts = [r["text"] for r in records]
    total_bytes = sum(len(t.encode()) for t in texts)

    with open(ours_spans_path, encoding="utf-8") as f:
        ours = [[(s["start"], s["end"], s["category"], 1.0) for s in json.loads(line)["spans"]] for line in f]
    with open(ours_timing_path, encoding="utf-8") as f:
        ours_seconds = json.loads(f.read().strip().splitlines()[-1])["seconds"]
    if len(ours) != len(records):
        sys.exit(f"compare_redaction: {len(ours)} result lines for {len(records)} corpus records")

    rows = [("secops redact", ours, ours_seconds, 0.0)]
    print("running presidio-analyzer (pattern recognizers, blank spaCy pipeline) ...", file=sys.stderr)
    presidio, presidio_seconds = run_tool(presidio_tool(), texts)
    rows.append(("presidio", presidio, presidio_seconds, 0.0))
    rows.append(("presidio>=0.5", presidio, presidio_seconds, 0.5))
    print("running scrubadub ...", file=sys.stderr)
    scrub, scrub_seconds = run_tool(scrubadub_tool(), texts)
    rows.append(("scrubadub", scrub, scrub_seconds, 0.0))

    print(f"corpus: {len(records)} records, {total_bytes / 1e6:.2f} MB, "
          f"{sum(len(r['spans']) for r in records)} labelled spans\n")
    print("throughput (detection calls only)")
    for name, _, seconds, min_score in rows:
        if min_score == 0.0:
            print(f"  {name:<16} {total_bytes / 1e6 / seconds:10.2f} MB/s  ({seconds:.3f} s)")
    scored = [(name, *score(records, preds, min_score)) for name, preds, _, min_score in rows]
    print("\nrecall / precision per category (overlap with a labelled span of the same category; '-' = never reported)")
    header = f"  {'category':<18} {'labelled':>8}" + "".join(f" {name:>16}" for name, _, _ in scored)
    print(header)
    for c in CATEGORIES:
        labelled = scored[0][1][c]["labelled"]
        cells = "".join(
            f" {fmt(t[c]['found'], t[c]['labelled']) + ' / ' + fmt(t[c]['correct'], t[c]['reported']):>16}"
            for _, t, _ in scored)
        print(f"  {c:<18} {labelled:>8}{cells}")
    totals = []
    for _, t, unmapped in scored:
        labelled = sum(v["labelled"] for v in t.values())
        found = sum(v["found"] for v in t.values())
        reported = sum(v["reported"] for v in t.values())
        correct = sum(v["correct"] for v in t.values())
        totals.append((found, labelled, correct, reported, unmapped))
    print(f"  {'all categories':<18} {totals[0][1]:>8}" + "".join(
        f" {fmt(f, l) + ' / ' + fmt(c, r):>16}" for f, l, c, r, _ in totals))
    print(f"  {'unmapped reports':<18} {'':>8}" + "".join(f" {u:>16}" for *_, u in totals))


if __name__ == "__main__":
    main()
