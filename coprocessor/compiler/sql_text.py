"""The text of one query: its tokens, its parse tree (sqlglot, Postgres grammar), and the
CompileErrors that point at the token they are about (its text, line and column)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from coprocessor.errors import CompileError

READ = "postgres"  # 0x... hex literals, :name parameters, "quoted" identifiers

# node type -> (keyword to point at, where it is relative to the node's first leaf)
_KEYWORDS = {
    exp.Join: ("JOIN", "before"),
    exp.Subquery: ("SELECT", "before"),
    exp.Window: ("OVER", "after"),
    exp.Like: ("LIKE", "after"),
    exp.ILike: ("ILIKE", "after"),
    exp.Star: ("*", "before"),
    exp.Having: ("HAVING", "before"),
    exp.Case: ("CASE", "before"),
    exp.Neg: ("-", "before"),
    exp.Is: ("IS", "after"),
    exp.Null: ("NULL", "before"),
    exp.Union: ("UNION", "after"),
    exp.With: ("WITH", "before"),
    exp.Distinct: ("DISTINCT", "before"),
    exp.Offset: ("OFFSET", "before"),
    exp.Cast: ("CAST", "before"),
    exp.DPipe: ("||", "after"),
    exp.Div: ("/", "after"),
}


class SqlText:
    """One query's SQL and tokens; `error` builds a CompileError located at a node's token."""

    def __init__(self, sql: str):
        self.sql = sql
        try:
            self.tokens = sqlglot.Dialect.get_or_raise(READ).tokenize(sql)
        except TokenError as exc:
            raise CompileError(f"cannot tokenize: {exc}", token=sql[:20], line=1, column=1) from exc

    def parse(self) -> exp.Expr:
        """The one statement of the text (a CompileError for a syntax error or several)."""
        try:
            trees = sqlglot.parse(self.sql, read=READ)
        except ParseError as exc:
            e = exc.errors[0] if exc.errors else {}
            raise CompileError(
                f"syntax error: {e.get('description', exc)}",
                token=e.get("highlight", ""),
                line=e.get("line", 0),
                column=_highlight_start_column(e),
            ) from exc
        statements = [t for t in trees if t is not None]
        if len(statements) != 1:
            column = max(1, self.sql.find(";") + 1)
            raise CompileError(
                "exactly one SELECT statement is expected", token=";", line=1, column=column
            )
        return statements[0]

    def position(self, start: int) -> tuple[int, int]:
        """(line, column), 1-based, of the character at offset `start`."""
        return self.sql.count("\n", 0, start) + 1, start - self.sql.rfind("\n", 0, start)

    def error(self, node: exp.Expr | None, reason: str, keyword: str | None = None) -> CompileError:
        """A CompileError at `keyword` near `node` (or the node's own keyword, or its text)."""
        token, start = self._locate(node, keyword)
        if start is None:
            return CompileError(reason, token=token or "")
        line, col = self.position(start)
        return CompileError(reason, token=token, line=line, column=col)

    def _leaf_start(self, node) -> int | None:
        if node is None:
            return None
        starts = [n.meta["start"] for n in node.walk() if "start" in n.meta]
        return min(starts) if starts else None

    def _locate(self, node, keyword) -> tuple[str, int | None]:
        kw, direction = (
            _KEYWORDS.get(type(node), (None, None)) if node is not None else (None, None)
        )
        kw = keyword or kw
        first = self._leaf_start(node)
        probe = node
        while first is None and probe is not None:
            probe = probe.parent
            first = self._leaf_start(probe)
        if kw:
            toks = [t for t in self.tokens if t.text.upper() == kw.upper()]
            if first is not None:
                before = [t for t in toks if t.start < first]
                after = [t for t in toks if t.start >= first]
                if direction == "before":
                    pick = before[-1:] or after[:1]
                else:
                    pick = after[:1] or before[-1:]
            else:
                pick = toks[:1]
            if pick:
                return pick[0].text, pick[0].start
        if node is not None and "start" in node.meta:
            return self.sql[node.meta["start"] : node.meta["end"] + 1], node.meta["start"]
        if first is not None:
            tok = next((t for t in self.tokens if t.start == first), None)
            return (tok.text if tok else self.sql[first : first + 10]), first
        return (node.sql(READ)[:40] if node is not None else ""), None


def _highlight_start_column(e: dict) -> int:
    # sqlglot reports the column where the highlighted token ends
    return max(1, e.get("col", 1) - len(e.get("highlight", "")) + 1)


def identifier_name(ident: exp.Identifier) -> str:
    """A name as the dialect reads it: quoted names as written, unquoted ones in lower case."""
    return ident.this if ident.quoted else ident.this.lower()
