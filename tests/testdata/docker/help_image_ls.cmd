docker image ls --help
