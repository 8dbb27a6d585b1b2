docker images --filter bogus=1
