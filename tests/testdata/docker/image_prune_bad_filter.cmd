docker image prune -f --filter bogus=1
