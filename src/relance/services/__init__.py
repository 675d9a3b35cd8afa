"""Use cases, one verb_noun function each. They take a Context (built by bootstrap), open one
unit of work per command, and never contain SQL, HTTP or rendering."""
