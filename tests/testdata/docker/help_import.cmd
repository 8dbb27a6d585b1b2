docker import --help
