"""Sources of module versions behind one small interface.

`base.Upstream` is the interface; `http.HttpUpstream` is another GOPROXY over HTTP;
`direct.DirectUpstream` is version control through the go command; `chain.UpstreamChain`
tries them in ATHENS_UPSTREAM order with the go command's GOPROXY semantics.
"""
