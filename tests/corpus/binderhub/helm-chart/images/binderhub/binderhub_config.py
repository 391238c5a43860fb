c.BinderHub.use_registry = False
