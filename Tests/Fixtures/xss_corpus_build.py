#!/usr/bin/env python3
"""Rebuilds Tests/Fixtures/xss-corpus.jsonl from the two public corpora it transcribes.

    python3 Tests/Fixtures/xss_corpus_build.py <DOMPurify checkout> <CheatSheetSeries checkout> > Tests/Fixtures/xss-corpus.jsonl

DOMPurify (https://github.com/cure53/DOMPurify, test/fixtures/expect.mjs: every "payload"), dual
licensed Apache-2.0 / MPL-2.0. OWASP Cheat Sheet Series
(https://github.com/OWASP/CheatSheetSeries, cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.md: every
fenced code block, titled by its section), CC BY-SA 4.0. Node reads the .mjs file as JavaScript.
"""
import json
import re
import subprocess
import sys

dompurify, owasp = sys.argv[1], sys.argv[2]


def git_show(repo, path):
    return subprocess.run(["git", "-C", repo, "show", "HEAD:" + path], check=True, capture_output=True, text=True).stdout


def head(repo):
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


script = """
let s = ''; process.stdin.setEncoding('utf8');
process.stdin.on('data', d => s += d);
process.stdin.on('end', async () => {
  const m = await import('data:text/javascript;base64,' + Buffer.from(s).toString('base64'));
  console.log(JSON.stringify(m.default.map(v => ({title: v.title, payload: v.payload}))));
});
"""
vectors = json.loads(subprocess.run(["node", "-e", script], input=git_show(dompurify, "test/fixtures/expect.mjs"),
                                    check=True, capture_output=True, text=True).stdout)

print("# XSS corpus for Rampart's HTML sanitizer (Tests/RampartTests/XSSCorpusTests.swift). One JSON object a line:")
print('# {"source": "dompurify" | "owasp", "title": ..., "payload": ...}. Rebuilt by Tests/Fixtures/xss_corpus_build.py.')
print(f"# DOMPurify test vectors: https://github.com/cure53/DOMPurify test/fixtures/expect.mjs at {head(dompurify)},")
print("#   Copyright Dr.-Ing. Mario Heiderich, Cure53; dual licensed Apache License 2.0 and Mozilla Public License 2.0.")
print(f"# OWASP XSS Filter Evasion Cheat Sheet: https://github.com/OWASP/CheatSheetSeries cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.md")
print(f"#   at {head(owasp)} (https://cheatsheetseries.owasp.org/cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.html),")
print("#   the OWASP Foundation and contributors; licensed Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0).")
print("#   Each fenced code block is one payload (markdown escapes \\< \\> undone), titled by its section. This file, as a")
print("#   transcription of it, is shared under CC BY-SA 4.0 for the OWASP part and Apache-2.0/MPL-2.0 for the DOMPurify part.")
for v in vectors:
    print(json.dumps({"source": "dompurify", "title": v.get("title", ""), "payload": v["payload"]}, ensure_ascii=False))

section = ""
block = None
for line in git_show(owasp, "cheatsheets/XSS_Filter_Evasion_Cheat_Sheet.md").splitlines():
    if block is None:
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        elif line.startswith("```"):
            block = []
    elif line.startswith("```"):
        payload = "\n".join(block).replace("\\<", "<").replace("\\>", ">")
        if payload.strip():
            print(json.dumps({"source": "owasp", "title": section, "payload": payload}, ensure_ascii=False))
        block = None
    else:
        block.append(line)
