#!/usr/bin/env python3
"""Generate src/unicode_case_table.h from UnicodeData.txt.

The table lists every code point that has a simple uppercase mapping
(field 12) or a simple lowercase mapping (field 13), with both mappings
(the code point itself where a field is empty), sorted by code point.

Usage: src/tools/gen_unicode_case.py [/usr/share/unicode/UnicodeData.txt] > src/unicode_case_table.h
(Debian's package unicode-data ships the file.)
"""
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode/UnicodeData.txt"
version = "unknown"
try:
    with open(path.replace("UnicodeData.txt", "ReadMe.txt"), encoding="utf-8") as f:
        m = re.search(r"Version (\d+\.\d+\.\d+)", f.read())
        if m:
            version = m.group(1)
except OSError:
    pass

rows = []
with open(path, encoding="utf-8") as f:
    for line in f:
        fields = line.rstrip("\n").split(";")
        if len(fields) < 15:
            continue
        cp = int(fields[0], 16)
        upper = int(fields[12], 16) if fields[12] else cp
        lower = int(fields[13], 16) if fields[13] else cp
        if upper != cp or lower != cp:
            rows.append((cp, upper, lower))
rows.sort()

out = sys.stdout
out.write("/*-------------------------------------------------------------------------\n")
out.write(" *\n * unicode_case_table.h\n")
out.write(" *\t  Unicode simple case mappings (UnicodeData.txt fields 12 and 13),\n")
out.write(" *\t  Unicode %s.  Generated; do not edit.\n" % version)
out.write(" *\n * Regenerate with:\n")
out.write(" *\t  src/tools/gen_unicode_case.py /usr/share/unicode/UnicodeData.txt \\\n")
out.write(" *\t\t  > src/unicode_case_table.h\n")
out.write(" *\n *-------------------------------------------------------------------------\n */\n")
out.write("#ifndef EVENTBUS_UNICODE_CASE_TABLE_H\n#define EVENTBUS_UNICODE_CASE_TABLE_H\n\n")
out.write("#define UNICODE_CASE_VERSION \"%s\"\n\n" % version)
out.write("/* code point, simple uppercase, simple lowercase; sorted by code point */\n")
out.write("static const uint32 unicode_case_table[%d][3] = {\n" % len(rows))
for cp, up, lo in rows:
    out.write("\t{0x%04X, 0x%04X, 0x%04X},\n" % (cp, up, lo))
out.write("};\n\n#endif\t\t\t\t\t\t\t/* EVENTBUS_UNICODE_CASE_TABLE_H */\n")
