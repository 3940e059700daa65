(function(){
  function val(td){var v=td.getAttribute('data-sort');if(v===null||v===''){return null;}
    var f=parseFloat(v);return isNaN(f)?v.toLowerCase():f;}
  function sortTable(table,idx,desc){
    var tb=table.tBodies[0],rows=Array.prototype.slice.call(tb.rows);
    rows.sort(function(a,b){var x=val(a.cells[idx]),y=val(b.cells[idx]);
      if(x===null&&y===null)return 0; if(x===null)return 1; if(y===null)return -1;  // n/a last
      if(typeof x!==typeof y){x=String(x);y=String(y);}
      var c=x<y?-1:(x>y?1:0);return desc?-c:c;});
    rows.forEach(function(r){tb.appendChild(r);});
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.classList.remove('asc','desc');if(i===idx)th.classList.add(desc?'desc':'asc');});
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener('click',function(){sortTable(table,i,th.classList.contains('asc'));});});
  });
  // #sort=<column key> or #sort=-<column key> (descending): shareable sorted view.
  var m=/sort=(-?)([A-Za-z0-9_]+)/.exec(location.hash);
  if(m){document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      if(th.getAttribute('data-key')===m[2])sortTable(table,i,m[1]==='-');});});}
})();
