def resumption_demo(stdout, seed):
    pass
