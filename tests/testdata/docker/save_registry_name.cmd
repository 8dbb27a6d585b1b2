docker save -o reg.tar localhost:5000/x/y:1.0 && tar -xOf reg.tar manifest.json && echo && tar -xOf reg.tar repositories
