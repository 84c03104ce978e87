"""Parser of the expression language: text -> `spec.ast` nodes.

A small recursive-descent parser. Precedence, loosest first: `or`, `and`, `not`, predicates
(comparisons, `in`, `between`, `is null`, `like`), `+ -`, `* /`, unary minus. Keywords are
case-insensitive. Strings are single-quoted (`''` inside is a quote). Expressions never reach a
database as text: the compiler builds queries from these nodes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from segmentum.spec import ast

# Limits that keep hostile text from exhausting Python's recursion (a RecursionError, an HTTP 500) in the
# parser and in everything that walks the tree (compiler, fingerprint, explain). Real definitions stay far
# below both; a deeper one is better written as traits that build on each other.
MAX_NESTING = 32  # parentheses, function calls, `not` and unary minus inside one another
MAX_DEPTH = 100  # levels of the parsed tree, long `a or b or c ...` chains included

KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "like", "true", "false"}
COMPARISON_TOKENS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<duration>\d+[dwmy](?![A-Za-z0-9_]))
  | (?P<number>\d+\.\d*|\.\d+|\d+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<badstring>'(?:[^']|'')*$)
  | (?P<dquote>"[^"]*"?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|==|[-+*/=<>(),.])
    """,
    re.VERBOSE,
)


class ExpressionSyntaxError(ValueError):
    """A syntax error at character offset `pos` of the expression."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class ExpressionTooDeepError(ExpressionSyntaxError):
    """An expression nests deeper than `MAX_NESTING` or `MAX_DEPTH` allow."""


@dataclass(frozen=True)
class Token:
    kind: str  # number, duration (30d), string, name, keyword, op, end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ExpressionSyntaxError(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "badstring":
            raise ExpressionSyntaxError("unterminated string: close it with '", pos)
        if kind == "dquote":
            raise ExpressionSyntaxError(f"strings take single quotes: write '{value.strip(chr(34))}'", pos)
        if kind == "name" and value.lower() in KEYWORDS:
            tokens.append(Token("keyword", value.lower(), pos))
        elif kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def _nest(self, pos: int) -> None:
        """Enter one more level of parentheses, call, `not` or unary minus (left again with `_unnest`)."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExpressionTooDeepError(
                f"the expression nests more than {MAX_NESTING} levels deep (parentheses, function calls, "
                "'not', '-'); split it into traits that build on each other",
                pos,
            )

    def _unnest(self) -> None:
        self.nesting -= 1

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _is(self, kind: str, text: str | None = None) -> bool:
        return self.tok.kind == kind and (text is None or self.tok.text == text)

    def _accept(self, kind: str, text: str | None = None) -> Token | None:
        return self._advance() if self._is(kind, text) else None

    def _expect(self, kind: str, text: str, what: str) -> Token:
        if not self._is(kind, text):
            raise ExpressionSyntaxError(f"expected {what}, found {self._describe(self.tok)}", self.tok.pos)
        return self._advance()

    @staticmethod
    def _describe(token: Token) -> str:
        return "the end of the expression" if token.kind == "end" else f"'{token.text}'"

    # -- grammar
    def parse(self) -> ast.Node:
        if self.tok.kind == "end":
            raise ExpressionSyntaxError("empty expression", 0)
        node = self._or()
        if self.tok.kind != "end":
            raise ExpressionSyntaxError(f"unexpected {self._describe(self.tok)}", self.tok.pos)
        return node

    def _or(self) -> ast.Node:
        node = self._and()
        while (token := self._accept("keyword", "or")) is not None:
            node = ast.Binary(token.pos, "or", node, self._and())
        return node

    def _and(self) -> ast.Node:
        node = self._not()
        while (token := self._accept("keyword", "and")) is not None:
            node = ast.Binary(token.pos, "and", node, self._not())
        return node

    def _not(self) -> ast.Node:
        if (token := self._accept("keyword", "not")) is not None:
            self._nest(token.pos)
            node = ast.Unary(token.pos, "not", self._not())
            self._unnest()
            return node
        return self._predicate()

    def _predicate(self) -> ast.Node:
        left = self._additive()
        token = self.tok
        if token.kind == "op" and token.text in COMPARISON_TOKENS:
            self._advance()
            return ast.Binary(token.pos, COMPARISON_TOKENS[token.text], left, self._additive())
        if self._accept("keyword", "is"):
            negated = self._accept("keyword", "not") is not None
            self._expect("keyword", "null", "'null' after 'is'")
            return ast.IsNull(token.pos, left, negated)
        negated = False
        if (
            self._is("keyword", "not")
            and self.tokens[self.i + 1].kind == "keyword"
            and self.tokens[self.i + 1].text in ("in", "between", "like")
        ):
            self._advance()
            negated = True
        if self._accept("keyword", "in"):
            self._expect("op", "(", "'(' after 'in'")
            items = [self._additive()]
            while self._accept("op", ","):
                items.append(self._additive())
            self._expect("op", ")", "',' or ')' in the list")
            return ast.InList(token.pos, left, tuple(items), negated)
        if self._accept("keyword", "between"):
            low = self._additive()
            self._expect("keyword", "and", "'and' in 'between x and y'")
            return ast.Between(token.pos, left, low, self._additive(), negated)
        if self._accept("keyword", "like"):
            return ast.Like(token.pos, left, self._additive(), negated)
        return left

    def _additive(self) -> ast.Node:
        node = self._multiplicative()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            token = self._advance()
            node = ast.Binary(token.pos, token.text, node, self._multiplicative())
        return node

    def _multiplicative(self) -> ast.Node:
        node = self._unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            token = self._advance()
            node = ast.Binary(token.pos, token.text, node, self._unary())
        return node

    def _unary(self) -> ast.Node:
        if (token := self._accept("op", "-")) is not None:
            self._nest(token.pos)
            operand = self._unary()
            self._unnest()
            if (
                isinstance(operand, ast.Literal)
                and isinstance(operand.value, (int, Decimal))
                and not isinstance(operand.value, bool)
            ):
                return ast.Literal(token.pos, -operand.value)
            return ast.Unary(token.pos, "-", operand)
        if (plus := self._accept("op", "+")) is not None:
            self._nest(plus.pos)
            node = self._unary()
            self._unnest()
            return node
        return self._primary()

    def _primary(self) -> ast.Node:
        token = self.tok
        if token.kind == "number":
            self._advance()
            value: int | Decimal = Decimal(token.text) if "." in token.text else int(token.text)
            return ast.Literal(token.pos, value)
        if token.kind == "duration":
            self._advance()
            return ast.Duration(token.pos, token.text)
        if token.kind == "string":
            self._advance()
            return ast.Literal(token.pos, token.text[1:-1].replace("''", "'"))
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            self._advance()
            return ast.Literal(token.pos, {"true": True, "false": False, "null": None}[token.text])
        if token.kind == "name":
            self._advance()
            if self._accept("op", "("):
                self._nest(token.pos)
                args: list[ast.Node] = []
                if not self._is("op", ")"):
                    args.append(self._or())
                    while self._accept("op", ","):
                        args.append(self._or())
                self._expect("op", ")", "',' or ')' after the function's arguments")
                self._unnest()
                return ast.Call(token.pos, token.text.lower(), tuple(args))
            if self._accept("op", "."):
                key = self._accept("name") or self._accept("keyword")
                if key is None:
                    raise ExpressionSyntaxError(f"expected a key after '{token.text}.'", self.tok.pos)
                if token.text != "properties":
                    raise ExpressionSyntaxError(
                        f"'{token.text}.{key.text}': only 'properties.KEY' (event properties) may use a dot",
                        token.pos,
                    )
                return ast.Property(token.pos, key.text)
            return ast.Name(token.pos, token.text)
        if (paren := self._accept("op", "(")) is not None:
            self._nest(paren.pos)
            node = self._or()
            self._expect("op", ")", "')'")
            self._unnest()
            return node
        raise ExpressionSyntaxError(
            f"expected a value, a name or '(', found {self._describe(token)}", token.pos
        )


def parse_expression(text: str) -> ast.Node:
    """Parse expression text; raises ExpressionSyntaxError with the character offset of the problem
    (ExpressionTooDeepError past the nesting limits)."""
    return _parse_cached(str(text))


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> ast.Node:
    """The trees are immutable (frozen dataclasses), so one parse per text serves the whole process: every
    load of the definitions (each editor check) parses the same few hundred conditions."""
    node = _Parser(text).parse()
    _check_depth(node)
    return node


def _check_depth(root: ast.Node) -> None:
    """Refuse a tree deeper than MAX_DEPTH; walked with a stack, as a deep tree is what it guards against."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionTooDeepError(
                f"the expression is more than {MAX_DEPTH} operators deep; use 'in (...)' for a list of values "
                "or split it into traits that build on each other",
                node.pos,
            )
        stack.extend((child, depth + 1) for child in ast.children(node))
