"""Demo models that mean something: small networks trained at build time, written as ATC would.

``digits`` is a CNN for 28x28 digit images, trained in seconds with numpy on generated data
(`data`, `train`) and written as an .om with fp16 packed weights and fused ops (`graph`), so
that the simulator's CPU reference gives its real answers::

    from acl_notebook.demo import digits
    model = digits.build()            # gears 1/4/8; the training is cached per process
    m = acl.load(model.om, name="digits")
    m.run(model.images[:8].astype("float16"))

Nothing here touches a device or the session: it only makes bytes, like the OM writer.
"""
