"""dropout on the Philox counter-based generator: the same seed gives the same mask on cpu and cuda."""
__all__: list = []
