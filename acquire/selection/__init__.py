"""Which configurations the accurate budget buys first: `diverse` (farthest-point order on
interatomic distances, `diverse`) and `uncertain` (committee disagreement, `committee`); used by
`acquire compare` (the candidates: accurate frames outside validation and test) and `acquire run`
(the candidates: the sampled pool outside validation)."""
from typing import Literal, get_args

Selection = Literal["random", "diverse", "uncertain"]
SELECTIONS: tuple[str, ...] = get_args(Selection)
