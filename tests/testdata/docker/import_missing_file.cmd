docker import nosuchfile.tar x:y
