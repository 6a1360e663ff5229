/*-------------------------------------------------------------------------
 *
 * unicode_case.c
 *	  Unicode simple case mappings and UTF-8 decoding for the pattern
 *	  language's equals-ignore-case matching.
 *
 * Case-insensitive matching must not depend on the database's locale or
 * collation, so eventbus carries its own table of Unicode's simple case
 * mappings (unicode_case_table.h, generated from UnicodeData.txt by
 * src/tools/gen_unicode_case.py).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pattern.h"
#include "unicode_case_table.h"

/*
 * The simple lowercase and uppercase mappings of a code point (the code
 * point itself where Unicode gives none).
 */
void
unicode_simple_case(uint32 cp, uint32 *lower, uint32 *upper)
{
	int			lo = 0;
	int			hi = lengthof(unicode_case_table) - 1;

	*lower = *upper = cp;
	if (cp < 0x80)
	{
		if (cp >= 'A' && cp <= 'Z')
			*lower = cp + ('a' - 'A');
		else if (cp >= 'a' && cp <= 'z')
			*upper = cp - ('a' - 'A');
		return;
	}
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (unicode_case_table[mid][0] == cp)
		{
			*upper = unicode_case_table[mid][1];
			*lower = unicode_case_table[mid][2];
			return;
		}
		if (unicode_case_table[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
}

/*
 * Decode one UTF-8 character from s (len > 0 bytes).  Returns the number of
 * bytes it takes; a malformed sequence yields its first byte as the code
 * point, one byte long, so that callers always advance.
 */
int
unicode_utf8_decode(const unsigned char *s, int len, uint32 *cp)
{
	unsigned char c = s[0];
	int			n;
	uint32		v;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0)
	{
		n = 2;
		v = c & 0x1F;
	}
	else if ((c & 0xF0) == 0xE0)
	{
		n = 3;
		v = c & 0x0F;
	}
	else if ((c & 0xF8) == 0xF0)
	{
		n = 4;
		v = c & 0x07;
	}
	else
	{
		*cp = c;
		return 1;
	}
	if (n > len)
	{
		*cp = c;
		return 1;
	}
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
		{
			*cp = c;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	*cp = v;
	return n;
}
