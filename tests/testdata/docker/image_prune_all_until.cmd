docker image prune -a -f --filter until=1h
