"""Fill empty msgstr entries of a .po file from a JSON dict (one-off helper)."""
import json
import re
import sys

path, dict_path = sys.argv[1], sys.argv[2]
tr = json.load(open(dict_path, encoding="utf-8"))
text = open(path, encoding="utf-8").read()


def unquote(block):
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    return "".join(parts).replace('\\"', '"').replace("\\n", "\n")


def quote(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def repl(m):
    key = unquote(m.group(1))
    if key and key in tr:
        return f'msgid {m.group(1)}msgstr "{quote(tr[key])}"\n'
    return m.group(0)


text = re.sub(r'msgid ((?:".*"\n)+)msgstr ""\n(?!")', repl, text)
text = re.sub(r"#, fuzzy\n(?=msgid \"\"\nmsgstr \"\"\n\"Project)", "", text)
open(path, "w", encoding="utf-8").write(text)
missing = [unquote(b) for b in re.findall(r'msgid ((?:".*"\n)+)msgstr ""\n(?!")', text)]
print("untranslated:", [m for m in missing if m])
